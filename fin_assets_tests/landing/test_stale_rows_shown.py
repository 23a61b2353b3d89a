"""A warehouse row is never stale without being shown as stale (issue 16 item 6).

A correction of a past day whose look-back dependents are not recomputed (the daemon off and
ingest-landing's own propagation bypassed, as when a landing run is launched from the UI with
automation stopped) leaves the later rows computed from the old bars. They are flagged in the
warehouse (`stale_rows`), in the CLI's output with the command that recomputes them, and by the
`bars_current` check of each derived fact; after `fin-assets refresh-stale` none is stale and
every later row equals a recomputation from the warehouse's own bars.
"""

from __future__ import annotations

import pandas as pd
import pytest
from dagster import AssetCheckKey, AssetCheckSeverity, AssetKey

from fin_assets.analytics.simulator import simulate_intraday
from fin_assets.cli import main
from fin_assets.definitions import build_definitions
from fin_assets.instance import open_instance
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.settings import Settings
from fin_assets.testing.landing_files import csv_bytes
from fin_assets.universe import load_universe
from fin_assets_tests.landing.test_landing_lookback import (
    CORRECTED,
    HISTORY,
    KEY,
    assert_later_rows_recomputed,
    later_rows,
)

SYMBOL_FACTS = ("fact_indicator", "fact_risk")


def stale_dates(warehouse: DuckDBWarehouse, table: str) -> list:
    found = warehouse.query(
        "SELECT trade_date FROM stale_rows WHERE table_name = ? AND symbol = 'AAPL' "
        "ORDER BY trade_date",
        [table],
    )
    return pd.to_datetime(found["trade_date"]).dt.date.tolist()


def latest_check(settings: Settings, table: str):
    key = AssetCheckKey(AssetKey(table), "bars_current")
    history = open_instance(settings).event_log_storage.get_asset_check_execution_history(
        key, limit=1
    )
    return history[0].evaluation


@pytest.mark.slow
def test_rows_left_stale_by_a_correction_are_shown_until_recomputed(
    fin_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FIN_HOME", str(fin_settings.home))
    monkeypatch.setenv("FIN_DAGSTER_PG_URL", fin_settings.dagster_pg_url)
    defs = build_definitions(fin_settings)
    assert (
        defs.resolve_job_def(HISTORY.job_name)
        .execute_in_process(instance=open_instance(fin_settings), tags=HISTORY.tags)
        .success
    )
    warehouse = DuckDBWarehouse(str(fin_settings.warehouse_path))
    assert warehouse.query("SELECT count(*) AS n FROM stale_rows")["n"].item() == 0
    assert all(latest_check(fin_settings, table).passed for table in SYMBOL_FACTS)
    before = later_rows(warehouse, "fact_risk")
    aapl = next(s for s in load_universe() if s.symbol == "AAPL")
    day = simulate_intraday(42, aapl, CORRECTED)
    corrected = day.assign(**{c: day[c] * 1.03 for c in ("open", "high", "low", "close")})
    ParquetLake(fin_settings.lake_url).replace_object(KEY, csv_bytes(corrected))
    # No daemon, and ingest-landing's look-back propagation bypassed.
    monkeypatch.setattr("fin_assets.defs.ingest.landing.dependent_runs", lambda *_: [])
    capsys.readouterr()

    assert main(["ingest-landing"]) == 0

    shown = capsys.readouterr().out
    later = before["trade_date"].tolist()
    for table in SYMBOL_FACTS:
        assert stale_dates(warehouse, table) == later, table
        check = latest_check(fin_settings, table)
        assert not check.passed and check.severity == AssetCheckSeverity.WARN
        assert check.metadata["failed_rows"].value == len(later)
        assert "fin-assets refresh-stale" in check.description
    # The stale rows really are the old ones: the next day's return is unchanged.
    assert later_rows(warehouse, "fact_risk")["return_1d"].iloc[0] == before["return_1d"].iloc[0]
    assert "Stale warehouse rows" in shown
    assert "recompute them: fin-assets refresh-stale" in shown
    for table in SYMBOL_FACTS:
        assert table in shown

    assert main(["refresh-stale"]) == 0

    assert warehouse.query("SELECT count(*) AS n FROM stale_rows")["n"].item() == 0
    for table in SYMBOL_FACTS:
        assert latest_check(fin_settings, table).passed, table
    assert_later_rows_recomputed(warehouse, aapl, corrected_close=day["close"].iloc[-1] * 1.03)
