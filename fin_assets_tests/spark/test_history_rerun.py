"""Re-running a range through the Spark history job replaces exactly that range."""

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from dagster import materialize
from pyspark.sql import SparkSession

from fin_assets.analytics.schemas import INDICATORS, RISK, SIGNALS
from fin_assets.resources.lake import MissingPartitionsError, ParquetLake
from fin_assets.resources.storage import DuckDBWarehouseResource, LakeResource
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.shared.lake_io import calendar_dates
from fin_assets.shared.partition_scope import PartitionScope
from fin_assets_tests.graph import asset_def
from fin_assets_tests.spark.conftest import START, SYMBOLS
from spark_resources.history_job import run_history

pytestmark = [pytest.mark.slow, pytest.mark.spark]

FIRST = PartitionScope(tuple(calendar_dates(date(2025, 3, 1), date(2025, 7, 31))), SYMBOLS)
SECOND = PartitionScope(tuple(calendar_dates(date(2025, 4, 1), date(2025, 6, 30))), SYMBOLS)
SCHEMAS = {"technical_indicators": INDICATORS, "trading_signals": SIGNALS, "risk_metrics": RISK}
KEYS = {
    "technical_indicators": ["symbol", "trade_date"],
    "trading_signals": ["symbol", "trade_date", "signal"],
    "risk_metrics": ["symbol", "trade_date"],
}


def lake_content(lake: ParquetLake, dataset: str, scope: PartitionScope) -> pd.DataFrame:
    tables = [
        lake.read_partitions(dataset, SCHEMAS[dataset], scope.dates, symbol).to_pandas()
        for symbol in scope.symbols
    ]
    return pd.concat(tables, ignore_index=True)


def mtimes(root: Path, dataset: str) -> dict[str, int]:
    return {
        str(path.relative_to(root)): path.stat().st_mtime_ns
        for path in (root / dataset).rglob("part-0.parquet")
    }


def load_facts(lake_root: Path, warehouse_path: Path, scope: PartitionScope) -> None:
    result = materialize(
        [asset_def("fact_indicator")],
        resources={
            "lake": LakeResource(root=str(lake_root)),
            "warehouse": DuckDBWarehouseResource(path=str(warehouse_path)),
        },
        tags={
            "dagster/asset_partition_range_start": f"{scope.start}|{scope.symbols[0]}",
            "dagster/asset_partition_range_end": f"{scope.end}|{scope.symbols[-1]}",
        },
    )
    assert result.success


def test_rerunning_a_subrange_replaces_exactly_its_partitions(
    spark: SparkSession, daily_lake: Path, tmp_path: Path
) -> None:
    root = tmp_path / "lake"
    shutil.copytree(daily_lake, root)
    lake = ParquetLake(str(root))
    warehouse_path = tmp_path / "warehouse.duckdb"
    run_history(spark, str(root), FIRST, START)
    load_facts(root, warehouse_path, FIRST)
    first = {name: lake_content(lake, name, FIRST) for name in SCHEMAS}
    before = {name: mtimes(root, name) for name in SCHEMAS}
    # A stale signal inside the second range must disappear when the range is re-run.
    stale_day = date(2025, 4, 10)
    stale = pd.DataFrame(
        {"symbol": ["SPY"], "trade_date": [stale_day], "signal": ["golden_cross"]}
        | {"direction": pd.Series([1], dtype="int8"), "value": [1.0]}
    )
    lake.write_partition(
        "trading_signals",
        pa.Table.from_pandas(stale, schema=SIGNALS, preserve_index=False),
        trade_date=stale_day,
        symbol="SPY",
    )

    run_history(spark, str(root), SECOND, START)
    load_facts(root, warehouse_path, SECOND)

    second_dates = {str(d) for d in SECOND.dates}
    for name in SCHEMAS:
        after = mtimes(root, name)
        assert after.keys() == before[name].keys()
        assert len(after) == FIRST.partition_count
        rewritten = {path for path in after if after[path] != before[name][path]}
        in_second = {path for path in after if path.split("trade_date=")[1][:10] in second_dates}
        assert rewritten == in_second, name
        again = lake_content(lake, name, FIRST)
        assert not again.duplicated(KEYS[name]).any()
        pd.testing.assert_frame_equal(again, first[name])
    warehouse = DuckDBWarehouse(str(warehouse_path))
    counts = warehouse.query(
        "SELECT count(*) AS n, count(DISTINCT (symbol, trade_date)) AS keys FROM fact_indicator"
    )
    assert counts["n"].iloc[0] == counts["keys"].iloc[0] == len(first["technical_indicators"])


def test_a_missing_daily_partition_stops_the_job_before_any_write(
    spark: SparkSession, daily_lake: Path, tmp_path: Path
) -> None:
    root = tmp_path / "lake"
    shutil.copytree(daily_lake, root)
    (root / "daily_bars" / "symbol=BTC" / "trade_date=2025-02-03" / "part-0.parquet").unlink()
    with pytest.raises(MissingPartitionsError, match=r"1 missing partition.*\(BTC, 2025-02-03\)"):
        run_history(spark, str(root), FIRST, START)
    assert not (root / "technical_indicators").exists()
