"""Spark DataFrames over the Parquet lake of `fin_assets.resources.lake.ParquetLake`.

Reading: Spark's own Parquet reader over the hive layout `{dataset}/symbol=S/trade_date=D/`,
given the dataset's Arrow schema (no schema inference over thousands of footers) and one path per
symbol (only those folders are listed); `trade_date` bounds prune the date folders. The files
also hold `symbol` and `trade_date`; Spark takes those values from the folder names, which the
lake's writer guarantees to be equal.

Writing: every (symbol, date) partition of the run's range is written by the executor that holds
the symbol's rows, through the same `write_symbol_partitions` the pandas assets use: one
`part-0.parquet` per partition with the key columns inside, a zero-row file where the range has no
rows, each file replaced atomically. That is dynamic partition overwrite at the lake's grain:
re-running a range replaces exactly its partitions and touches no other. (Spark's own writer
would name files `part-NNNNN-<uuid>.snappy.parquet`, drop the partition columns from the files and
skip empty partitions, none of which ParquetLake and the Dagster partitions accept.)

Staging (write-audit-publish, docs/reliability.md): a job given the run's id (`staging_run`,
the `--staging-run` argument the orchestrator passes when the run is staged) writes through
`ParquetLake(lake_root, staging_run=...)`, so its partitions land in the run's staging folder
`{root}/_tmp_staging/{run id}/` and are published (or discarded) with the run's other writes by
the orchestrator. It reads as the run's other steps do: a partition the run staged from the
staging folder, every other from the published layout.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from fin_assets.analytics.quality import RuleResult
from fin_assets.resources.lake import (
    MAX_LISTED_MISSING,
    STAGING_DIR,
    MissingPartitionsError,
    ParquetLake,
)
from fin_assets.shared.lake_io import calendar_dates, write_symbol_partitions
from fin_assets.shared.partition_scope import PartitionScope

# A rule evaluated on each symbol's written rows: (check name, rule over the symbol's frame).
Rule = tuple[str, Callable[[pd.DataFrame], RuleResult]]

RULE_COUNTS = (
    "symbol string, check string, passed boolean, failed_rows long, checked_rows long, "
    "detail string, rows long, partition_rows string"
)


def spark_path(lake_root: str) -> str:
    """The lake root as a Spark path: local folders as given, `s3://` kept (EMRFS on EMR)."""
    return lake_root.rstrip("/") if "://" in lake_root else Path(lake_root).resolve().as_posix()


def require_partitions(
    lake: ParquetLake, dataset: str, symbols: Sequence[str], start: date, end: date
) -> None:
    """Raise MissingPartitionsError (as ParquetLake.read_partitions does) unless every
    (symbol, date) partition from start to end exists: a zero-row partition is a "no session"
    marker that Spark's reader cannot tell from a missing one."""
    wanted = set(calendar_dates(start, end))
    missing = [
        (symbol, day)
        for symbol in symbols
        for day in sorted(wanted - lake.existing_dates(dataset, symbol))
    ]
    if missing:
        listed = ", ".join(f"({s}, {d.isoformat()})" for s, d in missing[:MAX_LISTED_MISSING])
        raise MissingPartitionsError(
            f"{len(missing)} missing partition(s) of {lake.uri(f'{lake.root}/{dataset}')}: "
            f"{listed}{' ...' if len(missing) > MAX_LISTED_MISSING else ''}"
        )


def add_staging_argument(parser: argparse.ArgumentParser) -> None:
    """The entry points' `--staging-run` argument (module docstring)."""
    parser.add_argument(
        "--staging-run", default=None, help="stage the writes in this run's staging folder"
    )


def read_symbol_dataset(
    spark: SparkSession,
    lake_root: str,
    dataset: str,
    schema: pa.Schema,
    symbols: Sequence[str],
    start: date,
    end: date,
    staging_run: str | None = None,
) -> DataFrame:
    """Rows of `dataset` for `symbols` from start to end (inclusive), columns of `schema`; with
    `staging_run`, the partitions that run staged replace the published ones (module
    docstring)."""
    if "://" not in lake_root:
        # One folder per date: Spark lists more than 32 folders with a distributed job, which
        # on a local disk costs far more than the listing; the driver lists them itself. On an
        # object store the parallel listing (one LIST per folder, spread over executors) stays.
        spark.conf.set("spark.sql.sources.parallelPartitionDiscovery.threshold", "1000000")
    base = f"{spark_path(lake_root)}/{dataset}"
    if staging_run is None:
        frame = _read_symbol_folders(spark, base, schema, symbols)
    else:
        frame = _read_overlay(spark, lake_root, dataset, schema, symbols, staging_run)
    return frame.where(F.col("trade_date").between(start, end)).select(*schema.names)


def _read_symbol_folders(
    spark: SparkSession, base: str, schema: pa.Schema, symbols: Sequence[str]
) -> DataFrame:
    """Every row of the symbols' folders under the dataset folder `base`."""
    if not symbols:
        return spark.createDataFrame([], from_arrow_schema(schema))
    return (
        spark.read.schema(from_arrow_schema(schema))
        .option("basePath", base)
        .parquet(*(f"{base}/symbol={symbol}" for symbol in symbols))
    )


def _read_overlay(
    spark: SparkSession,
    lake_root: str,
    dataset: str,
    schema: pa.Schema,
    symbols: Sequence[str],
    staging_run: str,
) -> DataFrame:
    """The published partitions the run did not stage, and the ones it staged."""
    lake = ParquetLake(lake_root, staging_run=staging_run)
    staged = {symbol: lake.staged_dates(dataset, symbol) for symbol in symbols}
    published = [s for s in symbols if lake.existing_dates(dataset, s) - staged[s]]
    root = spark_path(lake_root)
    frame = _read_symbol_folders(spark, f"{root}/{dataset}", schema, published)
    keys = [(symbol, day) for symbol, days in staged.items() for day in sorted(days)]
    if not keys:
        return frame
    replaced = spark.createDataFrame(keys, "symbol string, trade_date date")
    staged_base = f"{root}/{STAGING_DIR}/{staging_run}/{dataset}"
    staging_symbols = [symbol for symbol in symbols if staged[symbol]]
    staged_rows = _read_symbol_folders(spark, staged_base, schema, staging_symbols)
    kept = frame.join(F.broadcast(replaced), ["symbol", "trade_date"], "left_anti")
    return kept.select(*schema.names).unionByName(staged_rows.select(*schema.names))


@dataclass(frozen=True)
class CheckTotals:
    """A rule's results over every symbol of a run, summed."""

    check: str
    passed: bool
    failed_rows: int
    checked_rows: int
    detail: str


@dataclass(frozen=True)
class WrittenDataset:
    """What a Spark write of one dataset produced: rows, partitions and its checks, and the
    rows of each Dagster partition key of the run (`by_partition`, as WrittenRows holds them;
    empty where the job does not count them)."""

    dataset: str
    rows: int
    partitions: int
    checks: list[CheckTotals]
    by_partition: Mapping[str, int] = field(default_factory=dict)


def write_symbol_dataset(
    frame: DataFrame,
    lake_root: str,
    dataset: str,
    schema: pa.Schema,
    scope: PartitionScope,
    rules: Sequence[Rule],
    staging_run: str | None = None,
) -> WrittenDataset:
    """Write every (symbol, date) partition of `scope` from `frame` (rows inside the scope)
    — into the staging of `staging_run` when given —, evaluate `rules` on each symbol's rows,
    and return the totals.

    Each scope symbol's rows are written by one task (a cogroup with the scope's symbols, so a
    symbol without any row still gets its zero-row partitions).
    """
    spark = frame.sparkSession
    dates = scope.dates

    def write_symbol(keys: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
        symbol = str(keys["symbol"].iloc[0])
        # A symbol without rows in the range comes with an empty frame (columns not guaranteed).
        rows = schema.empty_table().to_pandas() if rows.empty else rows[list(schema.names)]
        written = write_symbol_partitions(
            ParquetLake(lake_root, staging_run=staging_run),
            dataset,
            schema,
            rows,
            PartitionScope(dates, (symbol,)),
        )
        results = [(name, rule(rows)) for name, rule in rules]
        return pd.DataFrame(
            {
                "symbol": symbol,
                "check": [name for name, _ in results],
                "passed": [result.passed for _, result in results],
                "failed_rows": [result.failed_rows for _, result in results],
                "checked_rows": [result.checked_rows for _, result in results],
                "detail": [result.detail for _, result in results],
                "rows": written.total,
                # The symbol's rows per Dagster partition key as JSON, on its first row only
                # (about 25 bytes a date: not copied onto every rule's row).
                "partition_rows": [json.dumps(dict(written.by_partition))]
                + [""] * (len(results) - 1),
            }
        )

    symbols = spark.createDataFrame([(symbol,) for symbol in scope.symbols], "symbol string")
    counts = (
        symbols.groupBy("symbol")
        .cogroup(frame.groupBy("symbol"))
        .applyInPandas(write_symbol, schema=RULE_COUNTS)
        .toPandas()
    )
    per_symbol = counts.groupby("symbol").first()
    return WrittenDataset(
        dataset=dataset,
        rows=int(per_symbol["rows"].sum()),
        partitions=scope.partition_count,
        checks=[_totals(name, counts[counts["check"] == name]) for name, _ in rules],
        by_partition=_sum_partition_rows(counts["partition_rows"][counts["partition_rows"] != ""]),
    )


def _sum_partition_rows(per_symbol: Sequence[str]) -> dict[str, int]:
    """Rows per partition key over every symbol's JSON counts (a block sums its symbols)."""
    rows: dict[str, int] = {}
    for text in per_symbol:
        for key, count in json.loads(text).items():
            rows[key] = rows.get(key, 0) + count
    return rows


def _totals(check: str, per_symbol: pd.DataFrame) -> CheckTotals:
    failing = per_symbol[~per_symbol["passed"]].sort_values("symbol")
    failed, checked = int(per_symbol["failed_rows"].sum()), int(per_symbol["checked_rows"].sum())
    detail = f"{failed} of {checked} checked rows fail over {len(per_symbol)} symbols"
    if not failing.empty:
        detail += ": " + "; ".join(f"{r.symbol}: {r.detail}" for r in failing.itertuples())
    return CheckTotals(check, failing.empty, failed, checked, detail)
