"""The Spark path of the bar and analytics assets: a large range goes to the Spark history job.

daily_bars, technical_indicators, trading_signals and risk_metrics call `history_on_spark` when
their run covers at least `spark.min_partitions` date × symbol partitions (a backfill of months ×
the universe); daily increments stay in pandas. Both paths compute with the same functions
(daily bars from the range's minutes; the analytics over each symbol's whole history from
the history start) and write the same partitions, so the lake holds the same numbers whichever path
ran. The Spark job reports the materialization and the asset's checks through Dagster Pipes.
In a staged run the job writes into the run's staging, like the pandas path (the run publishes
it when every step succeeded: fin_assets.defs.common.publish), and reads the partitions the run
staged.
"""

from dagster import AssetExecutionContext, MaterializeResult

from fin_assets.defs.common.partition_metadata import record_reported_rows
from fin_assets.resources.spark_runner import SparkJob, SparkRunner, staging_arguments
from fin_assets.resources.storage import LakeResource
from fin_assets.shared.partition_scope import PartitionScope
from fin_assets.shared.partitions import partition_values


def history_job(
    lake_root: str, scope: PartitionScope, dataset: str, staging_run: str | None = None
) -> SparkJob:
    """The Spark history job writing `dataset` for the scope (whole history from the history start),
    into the staging of `staging_run` when given."""
    return SparkJob(
        "history_job.py",
        (
            "--lake-root",
            lake_root,
            "--start",
            scope.start.isoformat(),
            "--end",
            scope.end.isoformat(),
            "--symbols",
            ",".join(scope.symbols),
            "--history-start",
            partition_values().history_start.isoformat(),
            "--datasets",
            dataset,
            *staging_arguments(staging_run),
        ),
    )


def history_on_spark(
    context: AssetExecutionContext,
    spark: SparkRunner,
    lake: LakeResource,
    scope: PartitionScope,
    dataset: str,
) -> MaterializeResult:
    """Run the history job for `dataset` and return what it reported (rows, checks); each
    partition's rows become its own `dagster/row_count`."""
    context.log.info(
        f"{dataset}: {scope.partition_count} partitions >= {spark.min_partitions}, "
        f"running on Spark ({type(spark).__name__})"
    )
    job = history_job(lake.root, scope, dataset, lake.get_lake().staging_run)
    result = spark.run(context, job).get_materialize_result()
    return record_reported_rows(context, result)
