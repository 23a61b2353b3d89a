"""Partition blocks (docs/scaling.md): a universe whose symbols are grouped into blocks.

The member dimension is read from the universe file at import, so the graph runs in a
`fin-assets backfill` subprocess with FIN_UNIVERSE_FILE pointing at a blocked universe; this
process (default universe) checks the lake, the warehouse and the instance it left.
"""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey

from fin_assets.analytics.market_calendar import sessions_in_range
from fin_assets.analytics.simulator import simulate_intraday
from fin_assets.instance import open_instance
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.settings import Settings
from fin_assets.universe import load_universe
from fin_assets.universe.universe import CHECKED_IN_UNIVERSE, assign_blocks

START, END = date(2025, 1, 1), date(2025, 1, 14)


def universe_entries() -> list[dict]:
    return yaml.safe_load(CHECKED_IN_UNIVERSE.read_text())["symbols"]


def test_assign_blocks_groups_each_calendar_and_never_moves_a_symbol() -> None:
    entries = assign_blocks(universe_entries(), 3)
    blocks = {entry["symbol"]: entry["block"] for entry in entries}
    assert blocks == {
        "AAPL": "XNYS-000",
        "MSFT": "XNYS-000",
        "NVDA": "XNYS-000",
        "JPM": "XNYS-001",
        "XOM": "XNYS-001",
        "JNJ": "XNYS-001",
        "SPY": "XNYS-002",
        "BTC": "247-000",
        "ETH": "247-000",
        "SOL": "247-000",
    }
    # A symbol appended later joins the newest non-full block of its calendar.
    appended = {**entries[0], "symbol": "AMZN", "block": None}
    grown = assign_blocks([*entries, appended], 3)
    assert [e["block"] for e in grown[:-1]] == [e["block"] for e in entries]
    assert grown[-1]["block"] == "XNYS-002"


def write(path: Path, entries: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"symbols": entries}, sort_keys=False))
    return path


def test_blocks_are_all_or_none_and_share_a_calendar(tmp_path: Path) -> None:
    entries = assign_blocks(universe_entries(), 3)
    partial = [*entries[:-1], {**entries[-1], "block": None}]
    with pytest.raises(ValueError, match="every symbol needs a block when one has; missing"):
        load_universe(write(tmp_path / "partial.yaml", partial))
    mixed = [*entries[:-1], {**entries[-1], "block": "XNYS-000"}]
    with pytest.raises(ValueError, match="block XNYS-000 mixes calendars"):
        load_universe(write(tmp_path / "mixed.yaml", mixed))


@pytest.mark.slow
def test_a_blocked_universe_runs_per_block_and_keeps_per_symbol_files(
    fin_settings: Settings, tmp_path: Path
) -> None:
    universe = write(tmp_path / "universe.yaml", assign_blocks(universe_entries(), 4))
    environment = {
        **os.environ,
        "FIN_UNIVERSE_FILE": str(universe),
        "FIN_HOME": str(fin_settings.home),
        "FIN_DAGSTER_PG_URL": fin_settings.dagster_pg_url,
    }
    backfill = [sys.executable, "-m", "fin_assets.cli", "backfill"]
    window = ["--start", str(START), "--end", str(END), "--parallel-runs", "1"]
    completed = subprocess.run(
        [*backfill, *window], env=environment, capture_output=True, text=True, timeout=900
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    # Dagster sees blocks: (block, date) partitions, 3 blocks × 14 days.
    instance = open_instance(fin_settings)
    blocks = ("XNYS-000", "XNYS-001", "247-000")
    days = [date.fromordinal(n).isoformat() for n in range(START.toordinal(), END.toordinal() + 1)]
    assert instance.get_materialized_partitions(AssetKey("daily_bars")) == {
        f"{block}|{day}" for block in blocks for day in days
    }
    # The lake keeps one file per symbol and day (zero rows on a day without a session); the
    # warehouse one row per symbol and session with the simulated close.
    lake = ParquetLake(fin_settings.lake_root)
    warehouse = DuckDBWarehouse(str(fin_settings.warehouse_path))
    closes = warehouse.query("SELECT symbol, trade_date, close FROM fact_daily_bar")
    got = {(r.symbol, r.trade_date.date()): r.close for r in closes.itertuples(index=False)}
    expected = {}
    for symbol in load_universe():
        stored = lake.existing_dates("daily_bars", symbol.symbol)
        assert stored == {date.fromisoformat(day) for day in days}, symbol.symbol
        for day in sessions_in_range(symbol.calendar, START, END):
            minutes = simulate_intraday(42, symbol, day)
            expected[(symbol.symbol, day)] = float(minutes["close"].iloc[-1])
    assert got.keys() == expected.keys()
    for key, close in expected.items():
        assert got[key] == pytest.approx(close, rel=1e-12), key
