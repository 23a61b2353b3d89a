"""daily_bars gives the same lake whether a range runs in pandas or on Spark.

Two copies of one lake of simulated one-minute bars; the real daily_bars asset materializes the
same range in each, once in pandas and once routed to Spark (LocalSparkRunner: spark-submit
local[2] through Dagster Pipes, the history job with `--datasets daily_bars`, which calls the
asset's `aggregate_daily_bars` per symbol in applyInPandas).
"""

import shutil
from pathlib import Path

import pandas as pd
import pytest
from dagster import AssetKey

from fin_assets.analytics.schemas import DAILY_BARS
from fin_assets.defs.bars.assets import BAR_CHECKS
from fin_assets.resources.lake import ParquetLake
from fin_assets.shared.lake_io import calendar_dates
from fin_assets_tests.graph import asset_def
from fin_assets_tests.spark.conftest import (
    INTRADAY_END,
    INTRADAY_START,
    SYMBOLS,
    assert_same_columns,
    materialize_rectangle,
    partition_rows,
)

pytestmark = [pytest.mark.slow, pytest.mark.spark]

DATES = calendar_dates(INTRADAY_START, INTRADAY_END)
PARTITIONS = len(DATES) * len(SYMBOLS)


def lake_frame(lake_root: Path) -> pd.DataFrame:
    lake = ParquetLake(str(lake_root))
    frames = [lake.read_partitions("daily_bars", DAILY_BARS, DATES, s) for s in SYMBOLS]
    return pd.concat([f.to_pandas() for f in frames], ignore_index=True)


def test_daily_bars_on_spark_equal_the_pandas_path(
    intraday_lake: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pandas_lake = tmp_path_factory.mktemp("pandas") / "lake"
    spark_lake = tmp_path_factory.mktemp("spark") / "lake"
    shutil.copytree(intraday_lake, pandas_lake)
    shutil.copytree(intraday_lake, spark_lake)
    assert PARTITIONS == 59 * 3

    pandas_run = materialize_rectangle(
        [asset_def("daily_bars")], pandas_lake, PARTITIONS + 1, INTRADAY_START, INTRADAY_END
    )
    spark_run = materialize_rectangle(
        [asset_def("daily_bars")], spark_lake, PARTITIONS, INTRADAY_START, INTRADAY_END
    )

    expected, actual = lake_frame(pandas_lake), lake_frame(spark_lake)
    assert list(actual.columns) == list(expected.columns) == DAILY_BARS.names
    # 59 days of BTC, 39 XNYS sessions (Jan 1, Jan 9, Jan 20, Feb 17 closed) for JNJ and SPY.
    assert actual.groupby("symbol").size().to_dict() == {"BTC": 59, "JNJ": 39, "SPY": 39}
    assert len(actual) == len(expected)
    assert_same_columns(actual, expected)
    for symbol in SYMBOLS:
        assert ParquetLake(str(spark_lake)).existing_dates("daily_bars", symbol) == set(DATES)

    pandas_meta = pandas_run.asset_materializations_for_node("daily_bars")[0].metadata
    spark_meta = spark_run.asset_materializations_for_node("daily_bars")[0].metadata
    assert spark_meta["rows_in_run"] == pandas_meta["rows_in_run"]
    assert spark_meta["rows_in_run"].value == len(expected)
    assert spark_meta["engine"].value == "spark"
    assert "engine" not in pandas_meta
    # Each partition's own row count, as the pandas path gives it: 1 on a session, else 0.
    expected_rows = partition_rows(pandas_run, "daily_bars", "daily_bars")
    assert partition_rows(spark_run, "daily_bars", "daily_bars") == expected_rows
    assert sum(expected_rows.values()) == len(expected) and 0 in expected_rows.values()
    key = AssetKey("daily_bars")
    checks = [
        {e.check_name: e.passed for e in run.get_asset_check_evaluations() if e.asset_key == key}
        for run in (pandas_run, spark_run)
    ]
    assert checks[0] == checks[1] == dict.fromkeys(BAR_CHECKS, True)
