"""End to end through a real `dagster-daemon`: a backfill, then a landing file on S3.

The lake is on moto's S3 server (real HTTP), the instance on a throwaway Postgres database,
the warehouse a DuckDB file in a throwaway FIN_HOME. The test
1. submits an asset backfill of the date × symbol graph over 2025-01-01..2025-01-10 × AAPL,
   MSFT (as the UI does) and lets the daemon run it;
2. drops a corrected file of AAPL's 2025-01-08 minutes (every price × 1.5) under landing/;
   the landing sensor's run takes that partition through the graph, and declarative automation
   carries the change to the look-back dependents (risk, indicators and signals of the later
   dates) and their facts;
3. stops the daemon and checks the warehouse: every session of the rectangle once, the
   simulated prices everywhere except the landed day, returns recomputed around it, no
   partition materialized outside the rectangle.

Marked `daemon` (and `slow`): it takes minutes, `make test` runs it on its own at the end.
"""

from dataclasses import replace
from datetime import date, timedelta
from itertools import pairwise

import pandas as pd
import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.execution.backfill import BulkActionStatus

from fin_assets.analytics.market_calendar import sessions_in_range
from fin_assets.analytics.simulator import simulate_intraday
from fin_assets.definitions import defs
from fin_assets.defs.common.jobs import job_assets
from fin_assets.instance import open_instance
from fin_assets.landing.watch import DEFAULT_WATCH_SECONDS
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.settings import Settings
from fin_assets.testing.daemon import (
    backfill_finished,
    failures,
    running_daemon,
    submit_backfill,
)
from fin_assets.testing.landing_files import csv_bytes
from fin_assets.testing.s3_server import MotoS3
from fin_assets.universe import load_universe
from fin_assets_tests.s3_server import s3_bucket, s3_server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.daemon]

START, END = date(2025, 1, 1), date(2025, 1, 10)
SYMBOL_HISTORY_ASSETS = job_assets(defs(), "symbol_history_job")
SYMBOLS = ("AAPL", "MSFT")
LANDED_DAY, SCALE = date(2025, 1, 8), 1.5
LANDING_KEY = f"landing/AAPL/{LANDED_DAY}/correction.csv"
# Assets the landed day reaches beyond its bars: the landing run updates the landed day's
# partitions, declarative automation the look-back dependents of the later dates.
FOLLOWERS = (
    "fact_daily_bar",
    "fact_intraday_bar",
    "technical_indicators",
    "anomalies",
    "risk_metrics",
    "fact_indicator",
    "fact_risk",
    "trading_signals",
    "fact_signal",
)
# Identity dependents of the landed day's bars: only that day changes.
SAME_DAY_FOLLOWERS = {"fact_daily_bar", "fact_intraday_bar"}
FACT_KEYS = {
    "fact_daily_bar": "symbol, trade_date",
    "fact_indicator": "symbol, trade_date",
    "fact_signal": "symbol, trade_date, signal",
    "fact_risk": "symbol, trade_date",
}
TIMEOUT_SECONDS = 900


def partition_keys(start: date, end: date, symbols: tuple[str, ...]) -> list[str]:
    return [
        f"{start + timedelta(n)}|{symbol}"
        for n in range((end - start).days + 1)
        for symbol in symbols
    ]


def simulated_minutes(symbol: str, day: date) -> pd.DataFrame:
    universe = {s.symbol: s for s in load_universe()}
    return simulate_intraday(42, universe[symbol], day)


def landing_csv() -> bytes:
    minutes = simulated_minutes("AAPL", LANDED_DAY)
    for column in ("open", "high", "low", "close"):
        minutes[column] *= SCALE
    return csv_bytes(minutes)


def expected_closes() -> dict[tuple[str, date], float]:
    closes = {}
    for symbol in SYMBOLS:
        for day in sessions_in_range("XNYS", START, END):
            closes[(symbol, day)] = float(simulated_minutes(symbol, day)["close"].iloc[-1])
    closes[("AAPL", LANDED_DAY)] *= SCALE
    return closes


def latest_storage_ids(instance: DagsterInstance, asset: str, keys: list[str]) -> dict[str, int]:
    return dict(
        instance.event_log_storage.get_latest_storage_id_by_partition(
            AssetKey(asset), DagsterEventType.ASSET_MATERIALIZATION, set(keys)
        )
    )


def updated_since(
    instance: DagsterInstance, before: dict[str, dict[str, int]], partitions: dict[str, list[str]]
) -> bool:
    """Whether every asset's partitions have a materialization newer than in `before`."""
    for asset, keys in partitions.items():
        now = latest_storage_ids(instance, asset, keys)
        if any(now.get(key, 0) <= before[asset].get(key, 0) for key in keys):
            return False
    return True


def test_backfill_and_landing_file_through_the_daemon(
    fin_settings: Settings,
    s3_server: MotoS3,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> None:
    settings = replace(fin_settings, lake_url=f"s3://{s3_bucket}/lake")
    instance = open_instance(settings)
    rectangle = partition_keys(START, END, SYMBOLS)
    # The landed day's daily bars changed: its fact, and every later date's look-back assets.
    landed_and_later = partition_keys(LANDED_DAY, END, ("AAPL",))
    followers = {
        asset: [f"{LANDED_DAY}|AAPL"] if asset in SAME_DAY_FOLLOWERS else landed_and_later
        for asset in FOLLOWERS
    }
    # The deployment's landing sensor: its ticks watch the landing zone (the suite's are 0 s).
    environment = {**s3_server.environment, "FIN_LANDING_WATCH_SECONDS": str(DEFAULT_WATCH_SECONDS)}
    with running_daemon(settings, environment) as daemon:
        backfill_id = submit_backfill(
            instance, settings, SYMBOL_HISTORY_ASSETS, rectangle, "end-to-end"
        )
        daemon.wait_for(
            "the backfill", lambda: backfill_finished(instance, backfill_id), TIMEOUT_SECONDS
        )
        backfill_status = instance.get_backfill(backfill_id).status
        assert backfill_status == BulkActionStatus.COMPLETED_SUCCESS, (
            backfill_status,
            failures(instance),
            daemon.log_tail(),
        )
        daemon.settle(instance, TIMEOUT_SECONDS)
        before = {
            asset: latest_storage_ids(instance, asset, keys) for asset, keys in followers.items()
        }
        s3_server.client().put_object(
            Bucket=s3_bucket, Key=f"lake/{LANDING_KEY}", Body=landing_csv()
        )
        landing_runs = RunsFilter(job_name="landing_job", statuses=[DagsterRunStatus.SUCCESS])
        daemon.wait_for(
            "the landing run", lambda: instance.get_runs_count(landing_runs) == 1, TIMEOUT_SECONDS
        )

        daemon.wait_for(
            "automation after the landing file",
            lambda: updated_since(instance, before, followers),
            TIMEOUT_SECONDS,
        )
        daemon.settle(instance, TIMEOUT_SECONDS)
        backfill_runs = instance.get_runs(RunsFilter(tags={"dagster/backfill": backfill_id}))
        failed = failures(instance)

    assert failed == [], "\n\n".join(failed)
    # BackfillPolicy.single_run: one run per symbol covering the whole date range and every
    # asset (Dagster ranges a multi-partition subset along its time dimension only).
    ranges = sorted(
        (
            run.tags["dagster/asset_partition_range_start"],
            run.tags["dagster/asset_partition_range_end"],
        )
        for run in backfill_runs
    )
    assert ranges == [(f"{START}|{s}", f"{END}|{s}") for s in SYMBOLS]
    for asset in SYMBOL_HISTORY_ASSETS:
        assert instance.get_materialized_partitions(AssetKey(asset)) == set(rectangle), asset

    warehouse = DuckDBWarehouse(str(settings.warehouse_path))
    for table, keys in FACT_KEYS.items():
        counts = warehouse.query(
            f"SELECT count(*) AS n, count(DISTINCT ({keys})) AS distinct_keys FROM {table}"
        )
        assert counts["n"].iloc[0] == counts["distinct_keys"].iloc[0], table
    # fact_signal holds fired signals only, and no rule can fire in seven sessions: each needs
    # at least ten (momentum) to fourteen (RSI) earlier sessions.
    assert warehouse.query("SELECT count(*) AS n FROM fact_signal")["n"].iloc[0] == 0

    bars = warehouse.query("SELECT symbol, trade_date, close FROM fact_daily_bar")
    closes = {
        (row.symbol, row.trade_date.date()): row.close for row in bars.itertuples(index=False)
    }
    expected = expected_closes()
    assert closes.keys() == expected.keys()
    for key, close in expected.items():
        assert closes[key] == pytest.approx(close, rel=1e-12), key

    risk = warehouse.query("SELECT symbol, trade_date, return_1d FROM fact_risk")
    returns = {
        (row.symbol, row.trade_date.date()): row.return_1d for row in risk.itertuples(index=False)
    }
    # Crypto is not in the rectangle: every risk row is an XNYS session.
    assert returns.keys() == expected.keys()
    sessions = sessions_in_range("XNYS", START, END)
    for symbol in SYMBOLS:
        for previous, day in pairwise(sessions):
            want = expected[(symbol, day)] / expected[(symbol, previous)] - 1
            assert returns[(symbol, day)] == pytest.approx(want, rel=1e-9), (symbol, day)
