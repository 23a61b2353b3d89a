"""The Spark path of the portfolio asset: a long range goes to the cross-symbol Spark job.

portfolio_risk (with correlation_matrix) calls `portfolio_on_spark` when its dates × the
universe's symbols reach `spark.min_partitions`. The job computes both outputs with
`compute_portfolio_risk`, as the pandas asset does, and reports both materializations (with each
date partition's rows, recorded as its `dagster/row_count`) and their checks through Dagster
Pipes. In a staged run the job reads and writes the run's staging (fin_assets.defs.common.publish).
"""

from collections.abc import Iterator, Mapping, Sequence
from datetime import date

from dagster import AssetCheckResult, AssetExecutionContext, MaterializeResult

from fin_assets.defs.common.partition_metadata import record_reported_rows
from fin_assets.resources.spark_runner import SparkJob, SparkRunner, staging_arguments
from fin_assets.resources.storage import LakeResource
from fin_assets.shared.partitions import partition_values


def cross_symbol_job(
    lake_root: str,
    dates: Sequence[date],
    weights: Mapping[str, float],
    staging_run: str | None = None,
) -> SparkJob:
    """The Spark cross-symbol job for `dates` (ascending) with the resolved weights, writing
    into the staging of `staging_run` when given."""
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
            partition_values().history_start.isoformat(),
            "--weights",
            ",".join(f"{symbol}={weight!r}" for symbol, weight in weights.items()),
            *staging_arguments(staging_run),
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
    job = cross_symbol_job(lake.root, dates, weights, lake.get_lake().staging_run)
    invocation = spark.run(context, job)
    for result in invocation.get_results():
        if isinstance(result, MaterializeResult):
            yield record_reported_rows(context, result)
        elif isinstance(result, AssetCheckResult):
            yield result
        else:
            raise TypeError(f"unexpected result from the cross-symbol job: {result!r}")
