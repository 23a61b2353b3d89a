"""Fixtures of the Spark tests: a local[2] session and lakes of simulated bars."""

from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dagster import AssetsDefinition, ExecuteInProcessResult, materialize
from pyspark.sql import SparkSession

from fin_assets.analytics.bars import aggregate_daily_bars, normalize_intraday_bars
from fin_assets.analytics.schemas import DAILY_BARS, INTRADAY_BARS
from fin_assets.analytics.simulator import simulate_intraday
from fin_assets.defs.common.partition_ranges import rectangle_tags
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.spark_runner import LocalSparkRunner
from fin_assets.resources.storage import LakeResource
from fin_assets.shared.lake_io import calendar_dates, write_symbol_partitions
from fin_assets.shared.partition_scope import PartitionScope
from fin_assets.universe import load_universe
from spark_resources.session import spark_session

# An equity, the ETF and a 24/7 crypto: two calendars. Contiguous in the universe order, so one
# Dagster run covers them; 13 months, so the 250-return VaR windows fill for the equities too.
SYMBOLS = ("JNJ", "SPY", "BTC")
START, END = date(2025, 1, 1), date(2026, 1, 31)
# Two months of minutes (a holiday, weekends, 24/7 crypto): the daily_bars parity range.
INTRADAY_START, INTRADAY_END = date(2025, 1, 1), date(2025, 2, 28)


def simulated_minutes(symbol: str, start: date, end: date, seed: int = 42) -> pd.DataFrame:
    """The simulator's one-minute bars of `symbol` from start to end, as intraday_bars holds
    them (no rows on dates without a session)."""
    universe = {s.symbol: s for s in load_universe()}
    minutes = [
        normalize_intraday_bars(simulate_intraday(seed, universe[symbol], day), symbol, day)
        for day in calendar_dates(start, end)
    ]
    return pd.concat([m.bars for m in minutes], ignore_index=True)


def write_intraday_bars(lake: ParquetLake, symbols: Sequence[str], start: date, end: date) -> int:
    """Simulated one-minute bars, one partition per (symbol, date); returns the rows."""
    minutes = pd.concat([simulated_minutes(s, start, end) for s in symbols], ignore_index=True)
    scope = PartitionScope(tuple(calendar_dates(start, end)), tuple(symbols))
    return write_symbol_partitions(lake, "intraday_bars", INTRADAY_BARS, minutes, scope).total


def write_daily_bars(
    lake: ParquetLake, symbols: Sequence[str], start: date, end: date, seed: int = 42
) -> pd.DataFrame:
    """Daily bars aggregated from the simulator's minutes, one partition per (symbol, date)
    (zero-row partitions on dates without a session), as the daily_bars asset writes them."""
    dates = calendar_dates(start, end)
    frames = [aggregate_daily_bars(simulated_minutes(s, start, end, seed)) for s in symbols]
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


@pytest.fixture(scope="module")
def intraday_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake holding intraday_bars of SYMBOLS for INTRADAY_START..INTRADAY_END (copy it)."""
    root = tmp_path_factory.mktemp("intraday_lake")
    write_intraday_bars(ParquetLake(str(root)), SYMBOLS, INTRADAY_START, INTRADAY_END)
    return root


def materialize_rectangle(
    assets: Sequence[AssetsDefinition], lake_root: Path, min_partitions: int, start: date, end: date
) -> ExecuteInProcessResult:
    """Materialize `assets` over start..end × SYMBOLS in one run; the range goes to Spark
    (local[2]) when it holds at least `min_partitions` partitions, else stays in pandas."""
    result = materialize(
        assets,
        resources={
            "lake": LakeResource(root=str(lake_root)),
            "spark": LocalSparkRunner(master="local[2]", min_partitions=min_partitions),
        },
        tags=rectangle_tags(start, end, SYMBOLS[0], SYMBOLS[-1]),
    )
    assert result.success
    return result


def partition_rows(result: ExecuteInProcessResult, node: str, asset: str) -> dict[str, int]:
    """Each partition's `dagster/row_count` among the materializations of `asset` by `node`,
    as the UI shows them; asserts the Spark job's raw per-partition entry did not leak."""
    events = [
        e for e in result.asset_materializations_for_node(node) if e.asset_key.path == [asset]
    ]
    assert all("partition_rows" not in e.metadata for e in events)
    return {str(e.partition): e.metadata["dagster/row_count"].value for e in events}


def assert_same_columns(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Float columns equal to 1e-9 absolute, every other column exactly, row by row."""
    for column in expected.columns:
        if expected[column].dtype.kind == "f":
            np.testing.assert_allclose(
                actual[column].to_numpy(), expected[column].to_numpy(), rtol=0, atol=1e-9
            )
        else:
            assert actual[column].tolist() == expected[column].tolist(), column
