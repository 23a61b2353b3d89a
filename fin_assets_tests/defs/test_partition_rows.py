"""A range run gives each partition its own row count, not the run's total."""

from datetime import date
from pathlib import Path

import exchange_calendars as xcals
import pyarrow.parquet as pq
from dagster import AssetKey, DagsterInstance

from fin_assets.definitions import build_definitions
from fin_assets.defs.common.partition_ranges import rectangle_tags
from fin_assets.settings import Settings
from fin_assets.shared.lake_io import calendar_dates

START, END = date(2025, 1, 1), date(2025, 1, 10)
SYMBOLS = ("AAPL", "MSFT")
ASSETS = ["raw_quotes", "intraday_bars", "daily_bars", "fact_daily_bar"]


def test_each_partition_of_a_range_run_has_its_own_row_count(tmp_path: Path) -> None:
    definitions = build_definitions(
        Settings.local(tmp_path, "postgresql://postgres@127.0.0.1:5432/unused")
    )
    with DagsterInstance.ephemeral() as instance:
        result = definitions.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance,
            tags=rectangle_tags(START, END, SYMBOLS[0], SYMBOLS[-1]),
            asset_selection=[AssetKey(name) for name in ASSETS],
        )
    assert result.success

    # 1 January, 4-5 January (a weekend) and 9 January (a day of mourning) have no session.
    sessions = set(xcals.get_calendar("XNYS").sessions_in_range(START, END).date)
    for name, per_session in (("intraday_bars", 390), ("daily_bars", 1), ("fact_daily_bar", 1)):
        events = result.asset_materializations_for_node(name)
        counts = {str(e.partition): e.metadata["dagster/row_count"].value for e in events}
        expected = {
            f"{day}|{symbol}": per_session * (day in sessions)
            for day in calendar_dates(START, END)
            for symbol in SYMBOLS
        }
        assert counts == expected, name
        assert {e.metadata["rows_in_run"].value for e in events} == {sum(expected.values())}
        if name == "intraday_bars":  # the count is what each partition's file holds
            for key, rows in expected.items():
                day, symbol = key.split("|")
                file = tmp_path / "lake" / name / f"symbol={symbol}" / f"trade_date={day}"
                assert pq.read_metadata(file / "part-0.parquet").num_rows == rows
