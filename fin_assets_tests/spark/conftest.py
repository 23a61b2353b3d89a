"""Fixtures of the Spark tests: a local[2] session and lakes of simulated daily bars."""

from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from fin_assets.analytics.bars import aggregate_daily_bars, normalize_intraday_bars
from fin_assets.analytics.schemas import DAILY_BARS
from fin_assets.analytics.simulator import simulate_intraday
from fin_assets.defs.lake_io import calendar_dates, write_symbol_partitions
from fin_assets.defs.partition_scope import PartitionScope
from fin_assets.resources.lake import ParquetLake
from fin_assets.universe import load_universe
from spark_resources.session import spark_session

# An equity, the ETF and a 24/7 crypto: two calendars. Contiguous in the universe order, so one
# Dagster run covers them; 13 months, so the 250-return VaR windows fill for the equities too.
SYMBOLS = ("JNJ", "SPY", "BTC")
START, END = date(2025, 1, 1), date(2026, 1, 31)


def write_daily_bars(
    lake: ParquetLake, symbols: Sequence[str], start: date, end: date, seed: int = 42
) -> pd.DataFrame:
    """Daily bars aggregated from the simulator's minutes, one partition per (symbol, date)
    (zero-row partitions on dates without a session), as the daily_bars asset writes them."""
    universe = {s.symbol: s for s in load_universe()}
    dates = calendar_dates(start, end)
    frames = []
    for symbol in symbols:
        minutes = [
            normalize_intraday_bars(simulate_intraday(seed, universe[symbol], day), symbol, day)
            for day in dates
        ]
        frames.append(aggregate_daily_bars(pd.concat([m.bars for m in minutes])))
    daily = pd.concat(frames, ignore_index=True)
    write_symbol_partitions(
        lake, "daily_bars", DAILY_BARS, daily, PartitionScope(tuple(dates), tuple(symbols))
    )
    return daily


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """One local[2] session with the jobs' configuration for the whole test session."""
    session = spark_session("fin_assets tests", master="local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def daily_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake holding daily_bars of SYMBOLS from START to END (copy it before writing)."""
    root = tmp_path_factory.mktemp("daily_lake")
    write_daily_bars(ParquetLake(str(root)), SYMBOLS, START, END)
    return root
