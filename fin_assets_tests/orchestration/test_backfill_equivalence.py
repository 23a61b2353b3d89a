"""A rectangle of dates × symbols run as one range run gives the same warehouse as running its
partitions one by one (in date order, as a per-partition backfill would)."""

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from dagster import MultiPartitionKey

from fin_assets.analytics.market_calendar import sessions_in_range
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.runner import RunRequest
from fin_assets.settings import Settings
from fin_assets.shared.partitions import partition_values
from fin_assets.testing.postgres import throwaway_settings
from fin_assets.warehouse.model import TABLES
from fin_assets_tests.in_process_runs import execute_in_process

pytestmark = pytest.mark.slow

START, END = date(2025, 1, 1), date(2025, 1, 6)
SYMBOLS = ["AAPL", "BTC"]  # an exchange calendar and 24/7
FACTS = {
    "fact_daily_bar": "symbol, trade_date",
    "fact_indicator": "symbol, trade_date",
    "fact_signal": "symbol, trade_date, signal",
    "fact_risk": "symbol, trade_date",
}


def key(day: date, symbol: str) -> str:
    return str(MultiPartitionKey({"date": day.isoformat(), "symbol": symbol}))


def facts(settings: Settings) -> dict[str, pd.DataFrame]:
    """The facts' loaded columns (not their bar lineage: load times, which differ by run)."""
    warehouse = DuckDBWarehouse(str(settings.warehouse_path))
    return {
        table: warehouse.query(
            f"SELECT {', '.join(TABLES[table].schema.names)} FROM {table} ORDER BY {order}"
        )
        for table, order in FACTS.items()
    }


def range_runs(settings: Settings) -> dict[str, pd.DataFrame]:
    """One run per contiguous symbol block over the whole date range."""
    for first, last in partition_values().member_ranges(SYMBOLS):
        request = RunRequest("symbol_history_job", key(START, first), key(END, last))
        assert execute_in_process(settings, request)
    return facts(settings)


def partition_runs(settings: Settings) -> dict[str, pd.DataFrame]:
    """One run per (date, symbol), dates ascending."""
    day = START
    while day <= END:
        for symbol in SYMBOLS:
            request = RunRequest("symbol_history_job", key(day, symbol), key(day, symbol))
            assert execute_in_process(settings, request)
        day += timedelta(days=1)
    return facts(settings)


def test_range_runs_and_partition_runs_load_the_same_facts(tmp_path: Path) -> None:
    with throwaway_settings(tmp_path / "range") as settings:
        by_range = range_runs(settings)
    with throwaway_settings(tmp_path / "one_by_one") as settings:
        one_by_one = partition_runs(settings)
    sessions = {
        "AAPL": sessions_in_range("XNYS", START, END),
        "BTC": sessions_in_range("24/7", START, END),
    }
    expected_keys = sorted((s, d) for s, days in sessions.items() for d in days)
    assert len(expected_keys) == 3 + 6
    for table, frame in by_range.items():
        pd.testing.assert_frame_equal(frame, one_by_one[table], obj=table)
        if table != "fact_signal":
            got = sorted(zip(frame["symbol"], frame["trade_date"].dt.date, strict=True))
            assert got == expected_keys, table
