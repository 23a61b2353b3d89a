"""The compaction job merges per-day files into one file per symbol-year, results unchanged."""

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fin_assets.analytics.schemas import DAILY_BARS
from fin_assets.resources.lake import ParquetLake
from fin_assets_tests.spark.conftest import END, SYMBOLS
from spark_resources.compaction_job import compact, read_compacted
from spark_resources.lake_frames import read_symbol_dataset

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def monthly(frame: DataFrame) -> pd.DataFrame:
    """A typical scan: per symbol and month, rows, closes summed, lowest low, highest high."""
    month = F.date_trunc("month", "trade_date").alias("month")
    result = frame.groupBy("symbol", month).agg(
        F.count("*").alias("rows"),
        F.sum("close").alias("closes"),
        F.min("low").alias("low"),
        F.max("high").alias("high"),
        F.sum("bar_count").alias("bars"),
    )
    return result.toPandas().sort_values(["symbol", "month"]).reset_index(drop=True)


def files(root: Path) -> dict[str, int]:
    folder = root / "compacted" / "daily_bars"
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*.parquet")}


def test_compaction_keeps_every_query_result_and_replaces_only_its_years(
    spark: SparkSession, daily_lake: Path, tmp_path: Path
) -> None:
    root = tmp_path / "lake"
    shutil.copytree(daily_lake, root)
    first, last = date(2025, 1, 1), END
    source = read_symbol_dataset(spark, str(root), "daily_bars", DAILY_BARS, SYMBOLS, first, last)

    done = compact(spark, str(root), "daily_bars", SYMBOLS, date(2025, 3, 1), date(2025, 3, 31))
    assert done.years == (2025,)
    assert done.written.checks[0].passed and done.written.checks[0].failed_rows == 0
    compacted_2025 = files(root)
    assert sorted(path.split("/part-")[0] for path in compacted_2025) == [
        f"symbol={symbol}/year=2025" for symbol in sorted(SYMBOLS)
    ]
    done = compact(spark, str(root), "daily_bars", SYMBOLS, date(2026, 1, 1), date(2026, 1, 31))
    assert done.years == (2026,) and done.files == len(SYMBOLS)
    after_2026 = files(root)
    assert {p: t for p, t in after_2026.items() if "year=2025" in p} == compacted_2025
    compacted = read_compacted(spark, str(root), "daily_bars")
    assert compacted.count() == source.count() > 300 * len(SYMBOLS)
    # Equal up to the order of float additions in the sums (the rows themselves are equal:
    # the job's EXCEPT ALL check above).
    pd.testing.assert_frame_equal(
        monthly(compacted), monthly(source), check_exact=False, rtol=1e-13
    )
    ordered = compacted.where("symbol = 'BTC'").select("trade_date").toPandas()["trade_date"]
    assert ordered.is_monotonic_increasing

    # A corrected source day reaches the copy when its year is compacted again.
    lake = ParquetLake(str(root))
    day = date(2025, 6, 2)
    bar = lake.read_partitions("daily_bars", DAILY_BARS, [day], "SPY").to_pandas()
    bar["close"] = bar["high"]
    lake.write_partition(
        "daily_bars", pa.Table.from_pandas(bar, schema=DAILY_BARS), trade_date=day, symbol="SPY"
    )
    compact(spark, str(root), "daily_bars", ["SPY"], day, day)
    refreshed = files(root)
    changed = {p for p in refreshed if after_2026.get(p) != refreshed[p]}
    assert {p.split("/part-")[0] for p in changed} == {"symbol=SPY/year=2025"}
    stored = read_compacted(spark, str(root), "daily_bars").where(
        (F.col("symbol") == "SPY") & (F.col("trade_date") == day)
    )
    assert stored.select("close").first()[0] == bar["high"].iloc[0]
