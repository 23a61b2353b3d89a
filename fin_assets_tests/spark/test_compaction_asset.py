"""The daily_bars_compacted asset runs the Spark compaction job through Dagster (local runner).

Same lake before and after: every row a query reads is equal, row for row, whether it reads the
per-day partitions or the compacted copy, the source files are untouched, and the copy is read
from a handful of files instead of one per day.
"""

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import AssetKey, RunConfig, materialize

from fin_assets.analytics.schemas import DAILY_BARS
from fin_assets.defs.operations.compaction import CompactionConfig, compacted_assets
from fin_assets.resources.spark_runner import LocalSparkRunner
from fin_assets.resources.storage import LakeResource
from fin_assets.shared.lake_io import calendar_dates
from fin_assets_tests.spark.conftest import END, START, SYMBOLS

pytestmark = [pytest.mark.slow, pytest.mark.spark]

COLUMNS = ", ".join(DAILY_BARS.names)


def query(glob: str, hive: bool) -> pd.DataFrame:
    """Every daily bar under `glob`, in key order (the dataset's columns only)."""
    with duckdb.connect() as connection:
        return connection.execute(
            f"SELECT {COLUMNS} FROM read_parquet('{glob}', hive_partitioning = {hive}) "
            "ORDER BY symbol, trade_date"
        ).df()


def mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*.parquet")}


def test_compaction_asset_keeps_every_row_with_fewer_files(
    daily_lake: Path, tmp_path: Path
) -> None:
    root = tmp_path / "lake"
    shutil.copytree(daily_lake, root)
    source_glob = f"{root}/daily_bars/*/*/part-0.parquet"
    before = query(source_glob, hive=False)
    source_files = mtimes(root / "daily_bars")
    (asset,) = [a for a in compacted_assets if a.key == AssetKey("daily_bars_compacted")]

    result = materialize(
        [asset],
        resources={
            "lake": LakeResource(root=str(root)),
            "spark": LocalSparkRunner(master="local[2]"),
        },
        run_config=RunConfig(
            ops={"daily_bars_compacted": CompactionConfig(start="2025-03-01", end=str(END))}
        ),
    )

    assert result.success
    partitions = len(calendar_dates(START, END)) * len(SYMBOLS)
    assert len(source_files) == partitions == 396 * 3
    compacted_glob = f"{root}/compacted/daily_bars/*/*/*.parquet"
    copy = root / "compacted" / "daily_bars"
    compacted_files = sorted(p.parent.relative_to(root) for p in copy.glob("*/*/*.parquet"))
    # One file per symbol-year (2025 and January 2026) instead of one per day.
    assert [str(p) for p in compacted_files] == [
        f"compacted/daily_bars/symbol={s}/year={y}" for s in sorted(SYMBOLS) for y in (2025, 2026)
    ]
    after = query(compacted_glob, hive=True)
    assert len(after) == len(before) > 300 * len(SYMBOLS)
    pd.testing.assert_frame_equal(after, before, check_exact=True)
    assert query(source_glob, hive=False).equals(before)
    assert mtimes(root / "daily_bars") == source_files

    (materialization,) = result.asset_materializations_for_node("daily_bars_compacted")
    metadata = {name: value.value for name, value in materialization.metadata.items()}
    assert metadata["source_files"] == partitions
    assert metadata["files"] == len(compacted_files) == 6
    assert metadata["source_rows"] == metadata["dagster/row_count"] == len(before)
    assert metadata["years"] == [2025, 2026]
    assert metadata["engine"] == "spark"
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "matches_source" and check.passed
    assert check.metadata["failed_rows"].value == 0
    assert check.metadata["checked_rows"].value == len(before)
