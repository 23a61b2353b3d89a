"""portfolio_risk and correlation_matrix are the same whether pandas or Spark computed them."""

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dagster import AssetKey, ExecuteInProcessResult, materialize

from fin_assets.analytics.schemas import CORRELATION, PORTFOLIO_RISK
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.spark_runner import LocalSparkRunner
from fin_assets.resources.storage import LakeResource
from fin_assets.shared.lake_io import calendar_dates
from fin_assets.shared.partitions import partition_values
from fin_assets_tests.graph import asset_def
from fin_assets_tests.spark.conftest import partition_rows, write_daily_bars

pytestmark = [pytest.mark.slow, pytest.mark.spark]

# Five months of the whole universe: the 60-session correlation windows fill from April.
HISTORY_END = date(2025, 5, 31)
START, END = date(2025, 4, 1), HISTORY_END
WEIGHTS = {"AAPL": 0.25, "SPY": 0.25, "BTC": 0.5}


def run_portfolio(lake_root: Path, min_partitions: int) -> ExecuteInProcessResult:
    result = materialize(
        [asset_def("portfolio_risk")],
        resources={
            "lake": LakeResource(root=str(lake_root)),
            "spark": LocalSparkRunner(master="local[2]", min_partitions=min_partitions),
        },
        run_config={"ops": {"portfolio_risk": {"config": {"weights": WEIGHTS}}}},
        tags={
            "dagster/asset_partition_range_start": START.isoformat(),
            "dagster/asset_partition_range_end": END.isoformat(),
        },
    )
    assert result.success
    return result


@pytest.fixture(scope="module")
def both_paths(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, ExecuteInProcessResult, ExecuteInProcessResult]:
    daily = tmp_path_factory.mktemp("universe") / "lake"
    write_daily_bars(
        ParquetLake(str(daily)), partition_values().symbols, date(2025, 1, 1), HISTORY_END
    )
    pandas_lake = tmp_path_factory.mktemp("pandas") / "lake"
    spark_lake = tmp_path_factory.mktemp("spark") / "lake"
    shutil.copytree(daily, pandas_lake)
    shutil.copytree(daily, spark_lake)
    partitions = len(calendar_dates(START, END)) * len(partition_values().symbols)
    return (
        pandas_lake,
        spark_lake,
        run_portfolio(pandas_lake, min_partitions=partitions + 1),
        run_portfolio(spark_lake, min_partitions=partitions),
    )


def read(lake_root: Path, dataset: str) -> pd.DataFrame:
    schema = {"portfolio_risk": PORTFOLIO_RISK, "correlation_matrix": CORRELATION}[dataset]
    dates = calendar_dates(START, END)
    return ParquetLake(str(lake_root)).read_partitions(dataset, schema, dates).to_pandas()


@pytest.mark.parametrize("dataset", ["portfolio_risk", "correlation_matrix"])
def test_spark_writes_the_same_portfolio_figures(both_paths, dataset: str) -> None:
    pandas_lake, spark_lake, _, _ = both_paths
    expected, actual = read(pandas_lake, dataset), read(spark_lake, dataset)
    assert len(actual) == len(expected) > 0
    for column in expected.columns:
        if expected[column].dtype.kind == "f":
            np.testing.assert_allclose(actual[column], expected[column], rtol=0, atol=1e-9)
        else:
            assert actual[column].tolist() == expected[column].tolist(), column
    if dataset == "correlation_matrix":
        # 60-session windows over 10 symbols: 100 pairs per session from late March on.
        assert actual["correlation"].notna().sum() > 100 * 20
    else:
        assert actual["return_1d"].notna().sum() > 20


def test_spark_reports_both_assets_with_their_checks(both_paths) -> None:
    _, _, pandas_run, spark_run = both_paths
    for name in ("portfolio_risk", "correlation_matrix"):
        spark_meta = spark_run.asset_materializations_for_node("portfolio_risk")
        by_key = {m.asset_key: m.metadata for m in spark_meta}
        pandas_by_key = {
            m.asset_key: m.metadata
            for m in pandas_run.asset_materializations_for_node("portfolio_risk")
        }
        key = AssetKey(name)
        assert by_key[key]["rows_in_run"] == pandas_by_key[key]["rows_in_run"]
    assert by_key[AssetKey("portfolio_risk")]["weights"].value == {
        symbol: WEIGHTS.get(symbol, 0.0) for symbol in partition_values().symbols
    }
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in spark_run.get_asset_check_evaluations()
    }
    assert checks == {
        ("portfolio_risk", "var_ordering"): True,
        ("correlation_matrix", "correlation_range"): True,
    }


@pytest.mark.parametrize("dataset", ["portfolio_risk", "correlation_matrix"])
def test_spark_gives_each_date_its_own_row_count(both_paths, dataset: str) -> None:
    _, _, pandas_run, spark_run = both_paths
    expected = partition_rows(pandas_run, "portfolio_risk", dataset)
    assert set(expected) == {str(day) for day in calendar_dates(START, END)}
    assert partition_rows(spark_run, "portfolio_risk", dataset) == expected
    assert 0 in expected.values() and max(expected.values()) > 0  # weekends vs sessions
