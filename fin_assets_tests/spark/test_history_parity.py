"""The analytics assets give the same lake whether a range runs in pandas or on Spark.

Two copies of one lake of simulated daily bars; the real assets (technical_indicators,
trading_signals, risk_metrics) materialize the same range in each, once with the pandas path
and once routed to Spark (LocalSparkRunner: spark-submit local[2] through Dagster Pipes).
"""

import shutil
from pathlib import Path

import pandas as pd
import pytest
from dagster import AssetKey, ExecuteInProcessResult

from fin_assets.analytics.schemas import INDICATORS, RISK, SIGNALS
from fin_assets.resources.lake import ParquetLake
from fin_assets.shared.lake_io import calendar_dates
from fin_assets_tests.graph import asset_def
from fin_assets_tests.spark.conftest import (
    END,
    START,
    SYMBOLS,
    assert_same_columns,
    materialize_rectangle,
    partition_rows,
)

pytestmark = [pytest.mark.slow, pytest.mark.spark]

DATASETS = {"technical_indicators": INDICATORS, "trading_signals": SIGNALS, "risk_metrics": RISK}
KEYS = {
    "technical_indicators": ["symbol", "trade_date"],
    "trading_signals": ["symbol", "trade_date", "signal"],
    "risk_metrics": ["symbol", "trade_date"],
}


ASSETS = ("technical_indicators", "trading_signals", "risk_metrics")


def lake_frame(lake_root: Path, dataset: str) -> pd.DataFrame:
    lake = ParquetLake(str(lake_root))
    dates = calendar_dates(START, END)
    frames = [lake.read_partitions(dataset, DATASETS[dataset], dates, s) for s in SYMBOLS]
    return pd.concat([f.to_pandas() for f in frames], ignore_index=True)


@pytest.fixture(scope="module")
def both_paths(
    daily_lake: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, ExecuteInProcessResult, ExecuteInProcessResult]:
    pandas_lake = tmp_path_factory.mktemp("pandas") / "lake"
    spark_lake = tmp_path_factory.mktemp("spark") / "lake"
    shutil.copytree(daily_lake, pandas_lake)
    shutil.copytree(daily_lake, spark_lake)
    partitions = len(calendar_dates(START, END)) * len(SYMBOLS)
    assets = [asset_def(name) for name in ASSETS]
    pandas_run = materialize_rectangle(assets, pandas_lake, partitions + 1, START, END)
    spark_run = materialize_rectangle(assets, spark_lake, partitions, START, END)
    return pandas_lake, spark_lake, pandas_run, spark_run


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_spark_writes_the_same_numbers_as_pandas(both_paths, dataset: str) -> None:
    pandas_lake, spark_lake, _, _ = both_paths
    expected, actual = lake_frame(pandas_lake, dataset), lake_frame(spark_lake, dataset)
    assert list(actual.columns) == list(expected.columns) == DATASETS[dataset].names
    assert len(actual) == len(expected) > 0
    expected = expected.sort_values(KEYS[dataset]).reset_index(drop=True)
    actual = actual.sort_values(KEYS[dataset]).reset_index(drop=True)
    assert_same_columns(actual, expected)
    if dataset != "trading_signals":
        # Enough history for every number: SMA 200 and the 250-return VaR are filled at the end.
        last = actual.groupby("symbol").tail(1)
        assert last.drop(columns=["symbol", "trade_date"]).notna().all().all()


def test_every_partition_of_the_range_is_written_by_both(both_paths) -> None:
    pandas_lake, spark_lake, _, _ = both_paths
    for dataset in DATASETS:
        for symbol in SYMBOLS:
            expected = ParquetLake(str(pandas_lake)).existing_dates(dataset, symbol)
            assert ParquetLake(str(spark_lake)).existing_dates(dataset, symbol) == expected
            assert expected == set(calendar_dates(START, END))


def test_spark_reports_the_same_row_counts_and_checks_through_pipes(both_paths) -> None:
    _, _, pandas_run, spark_run = both_paths
    for dataset in DATASETS:
        key = AssetKey(dataset)
        pandas_meta = pandas_run.asset_materializations_for_node(dataset)[0].metadata
        spark_meta = spark_run.asset_materializations_for_node(dataset)[0].metadata
        assert spark_meta["rows_in_run"] == pandas_meta["rows_in_run"]
        assert spark_meta["engine"].value == "spark"
        if dataset == "trading_signals":
            for name, value in pandas_meta.items():
                if name.startswith("signals_"):
                    assert spark_meta[name] == value, name
        pandas_checks = {
            e.check_name: e.passed
            for e in pandas_run.get_asset_check_evaluations()
            if e.asset_key == key
        }
        spark_checks = {
            e.check_name: e.passed
            for e in spark_run.get_asset_check_evaluations()
            if e.asset_key == key
        }
        assert spark_checks == pandas_checks
        assert len(spark_checks) >= 3


def test_spark_gives_each_partition_its_own_row_count(both_paths) -> None:
    _, _, pandas_run, spark_run = both_paths
    keys = {f"{day}|{symbol}" for day in calendar_dates(START, END) for symbol in SYMBOLS}
    for dataset in DATASETS:
        expected = partition_rows(pandas_run, dataset, dataset)
        assert set(expected) == keys
        assert partition_rows(spark_run, dataset, dataset) == expected, dataset
        # Not the run's total copied onto each partition: sessions and closed dates differ.
        assert len(set(expected.values())) > 1
