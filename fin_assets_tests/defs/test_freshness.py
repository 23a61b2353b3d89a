"""Freshness SLAs as the Dagster UI shows them (its GraphQL API), following the market calendar.

On a real instance: daily_bars' `freshness` check fails while the due partitions are missing,
passes once the due equity session and crypto day are materialized, and fails again when time
moves past the next deadline. An equity day is never due on a weekend or an exchange holiday;
a crypto day is due every UTC day.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    MetadataValue,
    build_sensor_context,
)
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster_graphql.test.utils import execute_dagster_graphql

from fin_assets.definitions import build_definitions
from fin_assets.defs.common.partition_ranges import rectangle_tags
from fin_assets.defs.operations.freshness import (
    CRYPTO_DAY,
    EQUITY_DAY,
    FRESHNESS_CHECK,
    STREAM_ASSET,
    STREAM_SLA,
    changed_evaluations,
    due_partitions,
    evaluate,
    freshness_sensor,
    sla_seconds,
)
from fin_assets.instance import open_instance
from fin_assets.operations.config import DEFAULT_SLA_SECONDS, OperationsConfig
from fin_assets.runner import QUIET_RUN_CONFIG
from fin_assets.settings import Settings

CHECK_QUERY = """
query Freshness($assetKey: AssetKeyInput!, $checkName: String!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      assetChecksOrError { ... on AssetChecks { checks { name description } } }
    }
  }
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, limit: 1) {
    status
    evaluation {
      severity
      metadataEntries {
        label
        ... on JsonMetadataEntry { jsonString }
        ... on IntMetadataEntry { intValue }
      }
    }
  }
}
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_an_equity_day_is_due_after_its_close_and_pull_on_sessions_only() -> None:
    # Friday 4 December 2026, 21:29 in New York: the equity day is not yet due, Thursday is.
    assert EQUITY_DAY.deadline(date(2026, 12, 4)) == at("2026-12-04T21:30:00-05:00")
    assert EQUITY_DAY.latest_due("XNYS", at("2026-12-04T21:29:00-05:00")) == date(2026, 12, 3)
    assert EQUITY_DAY.latest_due("XNYS", at("2026-12-04T21:30:00-05:00")) == date(2026, 12, 4)
    # All weekend long (and Monday before the deadline) Friday is the equity day due.
    for now in (
        "2026-12-05T23:00:00-05:00",
        "2026-12-06T23:59:00-05:00",
        "2026-12-07T12:00:00-05:00",
    ):
        assert EQUITY_DAY.latest_due("XNYS", at(now).astimezone(UTC)) == date(2026, 12, 4), now
    # Christmas (a Friday) is no session: Thursday stays due through the long weekend.
    assert EQUITY_DAY.latest_due("XNYS", at("2026-12-27T22:00:00-05:00")) == date(2026, 12, 24)


def test_a_crypto_day_is_due_every_utc_day_after_its_pull() -> None:
    assert CRYPTO_DAY.deadline(date(2026, 12, 5)) == at("2026-12-06T01:15:00+00:00")
    assert CRYPTO_DAY.latest_due("24/7", at("2026-12-06T01:14:00+00:00")) == date(2026, 12, 4)
    assert CRYPTO_DAY.latest_due("24/7", at("2026-12-06T01:15:00+00:00")) == date(2026, 12, 5)
    assert CRYPTO_DAY.latest_due("24/7", at("2026-12-07T02:00:00+00:00")) == date(2026, 12, 6)


def test_on_a_weekend_only_crypto_partitions_of_the_weekend_are_due() -> None:
    sunday_night = at("2026-12-06T23:00:00-05:00")
    due = due_partitions("daily_bars", sunday_night)
    by_sla: dict[str, set[str]] = {}
    for key, (sla, day) in due.items():
        by_sla.setdefault(sla, set()).add(day.isoformat())
        assert key.startswith(day.isoformat())
    assert by_sla == {"equity_day": {"2026-12-04"}, "crypto_day": {"2026-12-06"}}
    assert due_partitions("portfolio_risk", sunday_night) == {
        "2026-12-04": ("equity_day", date(2026, 12, 4))
    }
    # The exporter's allowed lag: since Friday's pull (20:30 New York) for the equities.
    assert sla_seconds("daily_bars", sunday_night) == pytest.approx((48 + 2.5) * 3600)


@pytest.fixture
def graphql(graphql_context: WorkspaceProcessContext) -> Iterator:
    """Queries of the code location's GraphQL API on the test's instance."""

    def query(asset: str) -> dict[str, Any]:
        variables = {"assetKey": {"path": [asset]}, "checkName": FRESHNESS_CHECK}
        result = execute_dagster_graphql(graphql_context, CHECK_QUERY, variables)
        assert not result.errors, result.errors
        return result.data

    yield query


def freshness_status(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The latest `freshness` execution's status and metadata."""
    (execution,) = data["assetCheckExecutions"]
    entries = {e["label"]: e for e in execution["evaluation"]["metadataEntries"]}
    return execution["status"], entries


def materialize_daily_bars(settings: Settings, day: date, first: str, last: str) -> None:
    """raw_quotes → intraday_bars → daily_bars of `day` × first..last, on the instance."""
    definitions = build_definitions(settings)
    result = definitions.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=open_instance(settings),
        tags=rectangle_tags(day, day, first, last),
        run_config=QUIET_RUN_CONFIG,
        asset_selection=[AssetKey(n) for n in ("raw_quotes", "intraday_bars", "daily_bars")],
    )
    assert result.success


def test_a_breach_shows_in_the_ui_until_the_due_partitions_are_materialized(
    fin_settings: Settings, graphql
) -> None:
    instance = open_instance(fin_settings)

    def tick(cursor: str | None) -> str | None:
        """One tick of freshness_sensor, its asset events recorded as the daemon does."""
        context = build_sensor_context(instance=instance, cursor=cursor)
        result = freshness_sensor(context)
        for event in getattr(result, "asset_events", []):
            instance.report_runless_asset_event(event)
        return getattr(result, "cursor", cursor)

    cursor = tick(None)
    data = graphql("daily_bars")
    checks = data["assetNodeOrError"]["assetChecksOrError"]["checks"]
    assert FRESHNESS_CHECK in {c["name"] for c in checks}
    status, entries = freshness_status(data)
    due = due_partitions("daily_bars", datetime.now(UTC))
    assert status == "FAILED"
    assert entries["overdue_count"]["intValue"] == len(due)

    days = {sla: day for sla, day in due.values()}
    for sla in (EQUITY_DAY, CRYPTO_DAY):
        symbols = sla.pull.symbols
        materialize_daily_bars(fin_settings, days[sla.name], symbols[0], symbols[-1])
    cursor = tick(cursor)
    status, entries = freshness_status(graphql("daily_bars"))
    assert (status, entries["overdue_count"]["intValue"]) == ("SUCCEEDED", 0)

    # Time moves past the next crypto deadline: the next UTC day is due and missing.
    later = CRYPTO_DAY.deadline(days["crypto_day"] + timedelta(days=1)) + timedelta(minutes=1)
    evaluations, cursor = changed_evaluations(instance, cursor, later)
    for evaluation in evaluations:
        instance.report_runless_asset_event(evaluation)
    status, entries = freshness_status(graphql("daily_bars"))
    newly_due = set(due_partitions("daily_bars", later)) - set(due)
    assert status == "FAILED"
    assert entries["overdue_count"]["intValue"] == len(newly_due) >= len(CRYPTO_DAY.pull.symbols)


def test_the_exporter_allows_the_lag_of_the_same_sla() -> None:
    sunday_night = at("2026-12-06T23:00:00-05:00")
    config = OperationsConfig()
    assert config.sla_seconds("daily_bars", sunday_night) == sla_seconds("daily_bars", sunday_night)
    assert config.sla_seconds("stream_landing_status", sunday_night) == 300
    assert config.sla_seconds("intraday_bars", sunday_night) == DEFAULT_SLA_SECONDS  # no SLA
    named = OperationsConfig(sla={"default": DEFAULT_SLA_SECONDS, "daily_bars": 900.0})
    assert named.sla_seconds("daily_bars", sunday_night) == 900  # the file's value wins


def test_the_stream_is_fresh_while_its_newest_landed_event_is_at_most_5_minutes_old() -> None:
    landed = at("2026-12-07T14:30:00+00:00")
    with DagsterInstance.ephemeral() as instance:
        assert evaluate(instance, STREAM_ASSET, landed).overdue == ("stream",)  # never read
        instance.report_runless_asset_event(
            AssetMaterialization(
                STREAM_ASSET,
                metadata={
                    "landed_through": MetadataValue.json(
                        {
                            "BTC": landed.isoformat(),
                            "ETH": (landed - timedelta(hours=1)).isoformat(),
                        }
                    )
                },
            )
        )
        assert evaluate(instance, STREAM_ASSET, landed + STREAM_SLA).passed
        late = evaluate(instance, STREAM_ASSET, landed + STREAM_SLA + timedelta(seconds=1))
        assert not late.passed and late.overdue == ("stream",)
