"""Spark compaction job: a per-day dataset of the lake merged into one file per symbol-year.

    spark-submit spark_resources/compaction_job.py --lake-root LAKE --dataset daily_bars \
        --start 2025-01-01 --end 2025-12-31 [--symbols AAPL,BTC] [--staging-run RUN_ID]

The lake keeps one small file per (symbol, trade_date) partition: it is what the Dagster
partitions read and write. Scans over years (ad-hoc Spark, DuckDB or Athena queries, a backfill
reading ten years of bars) pay a file open per day instead. This job writes the read-optimized
copy `{root}/compacted/{dataset}/symbol=S/year=YYYY/part-0.parquet`: one file per symbol-year
(Spark's part file renamed), rows sorted by trade_date (and ts for intraday bars), all columns of
the dataset but `symbol` (in the folder name, as hive readers expect).

The range is widened to whole calendar years and every existing source row of those years is
rewritten, with Spark's dynamic partition overwrite: exactly the (symbol, year) folders of the
run are replaced, others are untouched. The check `matches_source` proves that no query result
changes: the compacted rows of those years equal the source rows as multisets (EXCEPT ALL both
ways is empty and the counts agree).

With `--staging-run` (a staged run: write-audit-publish, docs/reliability.md) the copy is written
and checked in the run's staging folder, `{root}/_tmp_staging/{run id}/compacted/...`; the run's
publication moves each symbol-year file over the published folder's files (ParquetLake
.publish_staged), or discards it when the run failed. The source is read as the run sees it
(spark_resources.lake_frames).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pyarrow.fs as pafs
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fin_assets.resources.lake import PART_FILE, STAGING_DIR, ParquetLake
from fin_assets.universe import load_universe
from spark_resources.compactable import COMPACTABLE
from spark_resources.lake_frames import (
    CheckTotals,
    WrittenDataset,
    add_staging_argument,
    read_symbol_dataset,
    spark_path,
)
from spark_resources.pipes import open_job_pipes, report_written
from spark_resources.session import spark_session


@dataclass(frozen=True)
class Compaction:
    """What one run compacted: the copy (`written`, `files`) and its source (`source_files`,
    `source_rows`) over `years`."""

    written: WrittenDataset
    files: int
    years: tuple[int, ...]
    source_files: int
    source_rows: int


def compacted_folder(root: str, dataset: str, staging_run: str | None = None) -> str:
    """The compacted copy's folder under `root`: the published one, or the run's staged one."""
    staging = "" if staging_run is None else f"/{STAGING_DIR}/{staging_run}"
    return f"{root}{staging}/compacted/{dataset}"


def compacted_path(lake_root: str, dataset: str, staging_run: str | None = None) -> str:
    return compacted_folder(spark_path(lake_root), dataset, staging_run)


def read_compacted(
    spark: SparkSession, lake_root: str, dataset: str, staging_run: str | None = None
) -> DataFrame:
    """The compacted copy with the dataset's columns (symbol from the folder names)."""
    schema, _ = COMPACTABLE[dataset]
    frame = spark.read.parquet(compacted_path(lake_root, dataset, staging_run))
    return frame.select(*(F.col(f.name) for f in schema))


def compact(
    spark: SparkSession,
    lake_root: str,
    dataset: str,
    symbols: Sequence[str],
    start: date,
    end: date,
    staging_run: str | None = None,
) -> Compaction:
    """Rewrite the compacted copy of `dataset` for `symbols` and the years of start..end (in
    the staging of `staging_run` when given: module docstring).

    Symbols without any partition in those years (not ingested yet) are skipped; ValueError if
    no symbol has one."""
    if dataset not in COMPACTABLE:
        raise ValueError(f"dataset must be one of {', '.join(COMPACTABLE)}, got {dataset!r}")
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    schema, order = COMPACTABLE[dataset]
    first, last = date(start.year, 1, 1), date(end.year, 12, 31)
    # Partition files per symbol; zero-row partitions ("no session" markers) are files a scan
    # opens too.
    lake = ParquetLake(lake_root, staging_run=staging_run)
    source_files = {
        symbol: sum(1 for day in lake.existing_dates(dataset, symbol) if first <= day <= last)
        for symbol in symbols
    }
    symbols = [symbol for symbol in symbols if source_files[symbol]]
    if not symbols:
        raise ValueError(f"no {dataset} partition of {', '.join(source_files)} in {first}..{last}")
    source = read_symbol_dataset(
        spark, lake_root, dataset, schema, symbols, first, last, staging_run
    )
    years = F.year("trade_date").alias("year")
    (
        source.select(*source.columns, years)
        .repartition("symbol", "year")
        .sortWithinPartitions("symbol", "year", *order)
        .write.mode("overwrite")
        .partitionBy("symbol", "year")
        .parquet(compacted_path(lake_root, dataset, staging_run))
    )
    _name_part_files(lake, compacted_folder(lake.root, dataset, staging_run), symbols, first, last)
    compacted = read_compacted(spark, lake_root, dataset, staging_run).where(
        F.col("symbol").isin(list(symbols)) & F.col("trade_date").between(first, last)
    )
    source_rows, compacted_rows = source.count(), compacted.count()
    missing = source.exceptAll(compacted).count()
    extra = compacted.exceptAll(source).count()
    files = (
        spark.read.parquet(compacted_path(lake_root, dataset, staging_run))
        .where(F.col("symbol").isin(symbols) & F.col("year").between(first.year, last.year))
        .select(F.input_file_name())
        .distinct()
        .count()
    )
    passed = missing == extra == 0 and source_rows == compacted_rows
    check = CheckTotals(
        "matches_source",
        passed,
        missing + extra,
        source_rows,
        f"{source_rows} source rows, {compacted_rows} compacted rows; "
        f"{missing} source rows missing and {extra} extra rows in the compacted copy",
    )
    written = WrittenDataset(f"{dataset}_compacted", compacted_rows, files, [check])
    years_done = tuple(range(first.year, last.year + 1))
    return Compaction(written, files, years_done, sum(source_files.values()), source_rows)


def _name_part_files(
    lake: ParquetLake, folder: str, symbols: Sequence[str], first: date, last: date
) -> None:
    """Rename the one data file Spark wrote in each symbol-year folder of the run to PART_FILE
    (the name the lake publishes: module docstring)."""
    for symbol in symbols:
        for year in range(first.year, last.year + 1):
            year_folder = f"{folder}/symbol={symbol}/year={year}"
            selector = pafs.FileSelector(year_folder, allow_not_found=True)
            written = [
                info.path
                for info in lake.filesystem.get_file_info(selector)
                if info.type == pafs.FileType.File
                and info.base_name.startswith("part-")
                and info.base_name != PART_FILE
            ]
            if len(written) > 1:
                raise RuntimeError(f"{len(written)} files written in {year_folder}, expected 1")
            for path in written:
                lake.filesystem.move(path, f"{year_folder}/{PART_FILE}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lake-root", required=True, help="lake folder or s3://bucket/prefix")
    parser.add_argument("--dataset", required=True, choices=sorted(COMPACTABLE))
    parser.add_argument("--start", required=True, type=date.fromisoformat)
    parser.add_argument("--end", required=True, type=date.fromisoformat)
    parser.add_argument("--symbols", default="", help="comma-separated; default the universe")
    add_staging_argument(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    universe = [s.symbol for s in load_universe()]
    symbols = [s for s in args.symbols.split(",") if s] or universe
    with open_job_pipes() as pipes:
        spark = spark_session("fin_assets compaction")
        done = compact(
            spark, args.lake_root, args.dataset, symbols, args.start, args.end, args.staging_run
        )
        report_written(
            pipes,
            done.written,
            {
                "years": {"raw_value": list(done.years), "type": "json"},
                "files": {"raw_value": done.files, "type": "int"},
                "source_files": {"raw_value": done.source_files, "type": "int"},
                "source_rows": {"raw_value": done.source_rows, "type": "int"},
            },
            partitioned=False,
        )


if __name__ == "__main__":
    main()
