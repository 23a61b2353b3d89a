"""The Spark path of the portfolio asset: a long range goes to the cross-symbol Spark job.

portfolio_risk (with correlation_matrix) calls `portfolio_on_spark` when its dates × the
universe's symbols reach `spark.min_partitions`. The job computes both outputs with
`compute_portfolio_risk`, as the pandas asset does, and reports both materializations (with each
date partition's rows, recorded as its `dagster/row_count`) and their checks through Dagster
Pipes.
"""

from collections.abc import Iterator, Mapping, Sequence
from datetime import date

from dagster import AssetCheckResult, AssetExecutionContext, MaterializeResult

from fin_assets.defs.common.partition_metadata import record_reported_rows
from fin_assets.defs.common.partitions import HISTORY_START
from fin_assets.resources.spark_runner import SparkJob, SparkRunner
from fin_assets.resources.storage import LakeResource


def cross_symbol_job(
    lake_root: str, dates: Sequence[date], weights: Mapping[str, float]
) -> SparkJob:
    """The Spark cross-symbol job for `dates` (ascending) with the resolved weights."""
    return SparkJob(
        "cross_symbol_job.py",
        (
            "--lake-root",
            lake_root,
            "--start",
            dates[0].isoformat(),
            "--end",
            dates[-1].isoformat(),
            "--history-start",
            HISTORY_START.isoformat(),
            "--weights",
            ",".join(f"{symbol}={weight!r}" for symbol, weight in weights.items()),
        ),
    )


def portfolio_on_spark(
    context: AssetExecutionContext,
    spark: SparkRunner,
    lake: LakeResource,
    dates: Sequence[date],
    weights: Mapping[str, float],
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Run the cross-symbol job and yield what it reported (both assets and their checks)."""
    context.log.info(f"portfolio_risk: {len(dates)} dates on Spark ({type(spark).__name__})")
    invocation = spark.run(context, cross_symbol_job(lake.root, dates, weights))
    for result in invocation.get_results():
        if isinstance(result, MaterializeResult):
            yield record_reported_rows(context, result)
        elif isinstance(result, AssetCheckResult):
            yield result
        else:
            raise TypeError(f"unexpected result from the cross-symbol job: {result!r}")
