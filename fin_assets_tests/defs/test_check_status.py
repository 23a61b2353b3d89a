"""Check status as the Dagster UI shows it (its GraphQL API): truthful after range runs.

Runs over different symbols each evaluate a check once; the status the UI shows for the check
must be the whole asset's. The test runs MSFT and BTC over a range, lands a file for one MSFT
session with minutes missing (its landing run fails `session_completeness`, a warning), runs
BTC again (its own range passes), and reads every check through the webserver's GraphQL schema
as the asset page's Checks tab does. Then a complete file for that session clears the failure.
"""

import json
from collections.abc import Iterator
from datetime import date

import pytest
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster_graphql.test.utils import execute_dagster_graphql

from fin_assets.analytics.market_calendar import session_minutes
from fin_assets.analytics.simulator import simulate_intraday
from fin_assets.definitions import build_definitions, defs
from fin_assets.defs.common.checks import uncovered_parts
from fin_assets.defs.common.jobs import job_assets
from fin_assets.defs.common.partitions import graph_partitions
from fin_assets.defs.ingest.landing import process_landing_files
from fin_assets.defs.operations.freshness import FRESHNESS_CHECK
from fin_assets.instance import open_instance
from fin_assets.resources.environments import lake_resource
from fin_assets.runner import RunRequest
from fin_assets.settings import Settings
from fin_assets.testing.landing_files import csv_bytes
from fin_assets.universe import load_universe
from fin_assets_tests.in_process_runs import execute_in_process

START, END = date(2025, 1, 1), date(2025, 1, 10)
SYMBOL_HISTORY_ASSETS = job_assets(defs(), "symbol_history_job")
DAY = date(2025, 1, 8)
DROPPED = 30  # minutes left out of MSFT's landed session

CHECKS_QUERY = """
query AssetChecks($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      assetChecksOrError {
        ... on AssetChecks {
          checks {
            name
            description
            executionForLatestMaterialization {
              runId
              status
              evaluation {
                severity
                description
                targetMaterialization { runId }
                metadataEntries {
                  label
                  ... on JsonMetadataEntry { jsonString }
                  ... on TextMetadataEntry { text }
                }
              }
            }
          }
        }
      }
    }
  }
}
"""


def run_range(settings: Settings, symbol: str) -> None:
    request = RunRequest(
        "symbol_history_job",
        str(graph_partitions().partition_key(START, symbol)),
        str(graph_partitions().partition_key(END, symbol)),
    )
    assert execute_in_process(settings, request)


def land(settings: Settings, name: str, dropped: int) -> None:
    """Land MSFT's simulated DAY minutes without the last `dropped`, and process the file.

    The vendor's payloads of that session are moved out of the raw layer first, so the landing
    files are its only source (a landing file's minutes merge over the vendor's)."""
    msft = next(s for s in load_universe() if s.symbol == "MSFT")
    minutes = simulate_intraday(settings.seed, msft, DAY)
    lake = lake_resource(settings).get_lake()
    for key in lake.list_objects("raw"):
        if f"symbol=MSFT/trade_date={DAY}/" in key and not key.startswith("raw/landing/"):
            lake.move_object(key, key.replace("raw/", "set_aside/", 1))
    lake.put_object(
        f"landing/MSFT/{DAY}/{name}.csv", csv_bytes(minutes.iloc[: len(minutes) - dropped])
    )
    outcomes = process_landing_files(lake, open_instance(settings), build_definitions(settings))
    assert [o.status for o in outcomes if o.key.endswith(f"{name}.csv")] == ["succeeded"]


@pytest.fixture
def graphql(graphql_context: WorkspaceProcessContext) -> Iterator:
    """Queries of the code location's GraphQL API on the test's instance."""

    def query(asset: str) -> list[dict]:
        variables = {"assetKey": {"path": [asset]}}
        result = execute_dagster_graphql(graphql_context, CHECKS_QUERY, variables)
        assert not result.errors, result.errors
        return result.data["assetNodeOrError"]["assetChecksOrError"]["checks"]

    yield query


def metadata(evaluation: dict) -> dict[str, str]:
    return {
        entry["label"]: entry.get("jsonString", entry.get("text"))
        for entry in evaluation["metadataEntries"]
    }


def test_a_warning_on_one_symbol_stays_visible_after_another_symbols_pass(
    fin_settings: Settings, graphql
) -> None:
    run_range(fin_settings, "MSFT")
    run_range(fin_settings, "BTC")
    land(fin_settings, "short", DROPPED)
    run_range(fin_settings, "BTC")

    expected_minutes = len(session_minutes("XNYS", DAY))
    assert expected_minutes == 390  # a full session, so DROPPED minutes are missing
    for asset in SYMBOL_HISTORY_ASSETS:
        for check in graphql(asset):
            assert check["description"], (asset, check["name"])
            if check["name"] == FRESHNESS_CHECK:  # evaluated by its sensor, not by runs
                continue
            execution = check["executionForLatestMaterialization"]
            assert execution is not None, f"{asset}.{check['name']} not evaluated"
            evaluation = execution["evaluation"]
            failing = json.loads(metadata(evaluation)["failing_partitions"])
            if (asset, check["name"]) == ("intraday_bars", "session_completeness"):
                assert execution["status"] == "FAILED"
                assert evaluation["severity"] == "WARN"
                assert [entry[:4] for entry in failing] == [["MSFT", str(DAY), str(DAY), DROPPED]]
                assert f"MSFT {DAY} ({DROPPED} rows)" in evaluation["description"]
            else:
                assert (execution["status"], failing) == ("SUCCEEDED", []), (asset, check)
            # The evaluation is of the asset's latest materialization (the UI's "current").
            assert evaluation["targetMaterialization"]["runId"] == execution["runId"]

    land(fin_settings, "complete", 0)
    [check] = [c for c in graphql("intraday_bars") if c["name"] == "session_completeness"]
    execution = check["executionForLatestMaterialization"]
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(metadata(execution["evaluation"])["failing_partitions"]) == []


def test_every_check_has_a_description() -> None:
    graph = defs().resolve_asset_graph()
    missing = [str(key) for key in graph.asset_check_keys if not graph.get(key).description]
    assert missing == []


def test_a_run_clears_exactly_the_failing_partitions_it_rewrote() -> None:
    entry = ["MSFT", "2025-01-01", "2025-01-10", 4, "run-a"]
    middle = {"symbols": ["AAPL", "MSFT"], "start": "2025-01-05", "end": "2025-01-06"}
    assert uncovered_parts(entry, middle) == [
        ["MSFT", "2025-01-01", "2025-01-04", 4, "run-a"],
        ["MSFT", "2025-01-07", "2025-01-10", 4, "run-a"],
    ]
    other_symbol = {"symbols": ["BTC"], "start": "2025-01-01", "end": "2025-01-10"}
    assert uncovered_parts(entry, other_symbol) == [entry]
    whole = {"symbols": ["MSFT"], "start": "2024-12-31", "end": "2025-01-31"}
    assert uncovered_parts(entry, whole) == []
    # A date-partitioned asset's entry (every symbol) and run (no symbols).
    dates = [None, "2025-01-03", "2025-01-03", 1, "run-b"]
    assert (
        uncovered_parts(dates, {"symbols": None, "start": "2025-01-03", "end": "2025-01-03"}) == []
    )
