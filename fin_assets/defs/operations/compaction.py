"""Lake compaction: a read-optimized copy of each per-day dataset, one file per symbol-year.

The lake keeps one small Parquet file per (symbol, trade_date) partition, which is what the
partitioned assets read and write; long scans (ad-hoc DuckDB/Spark/Athena queries over years)
pay one file open per day. `{dataset}_compacted` (one asset per dataset of
spark_resources.compactable.COMPACTABLE) runs the Spark compaction job through the `spark`
runner resource (local spark-submit, EMR or EMR Serverless, like the analytics' Spark path): it
rewrites `compacted/{dataset}/symbol=S/year=Y/` for the whole calendar years its range touches
and reports through Dagster Pipes the files and rows before (source partitions) and after
(compacted copy), and the `matches_source` check (the copy's rows equal the source rows as
multisets, so no query result changes). The source partitions are never modified. In a staged
run the copy is written and checked in the run's staging and published with the run
(fin_assets.defs.common.publish).

The assets are unpartitioned: the unit of a compacted copy is a symbol-year, which no partition
of the date × symbol assets maps to; the range is run config (`CompactionConfig`).
`lake_compaction_schedule` runs `lake_compaction_job` every Sunday 04:00 UTC over the past seven
days (so the years they fall in, both years in the first week of January). A correction to an
older year reaches the copy when that year is compacted again (a run with its dates as config).
"""

from datetime import date, timedelta

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    Config,
    DefaultScheduleStatus,
    MaterializeResult,
    RunConfig,
    RunRequest,
    ScheduleEvaluationContext,
    asset,
    define_asset_job,
    schedule,
)
from pydantic import Field

from fin_assets.defs.common.checks import check_specs
from fin_assets.resources.spark_runner import SparkJob, SparkRunner, staging_arguments
from fin_assets.resources.storage import LakeResource
from fin_assets.shared.partitions import partition_values
from spark_resources.compactable import COMPACTABLE

COMPACTION_GROUP = "compaction"
# Days before the tick a scheduled run covers (widened to whole years by the job).
SCHEDULED_DAYS = 7


class CompactionConfig(Config):
    """The range to compact (ISO dates, inclusive; widened to whole calendar years) and the
    symbols (default: the universe)."""

    start: str = Field(description="first trade date, YYYY-MM-DD")
    end: str = Field(description="last trade date, YYYY-MM-DD")
    symbols: list[str] = Field(default_factory=list, description="default: every symbol")


def compacted_key(dataset: str) -> str:
    return f"{dataset}_compacted"


def compaction_job(
    lake_root: str, dataset: str, config: CompactionConfig, staging_run: str | None = None
) -> SparkJob:
    """The Spark compaction job of `dataset` for the configured range and symbols, writing
    into the staging of `staging_run` when given."""
    start, end = date.fromisoformat(config.start), date.fromisoformat(config.end)
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    universe = partition_values().symbols
    unknown = sorted(set(config.symbols) - set(universe))
    if unknown:
        raise ValueError(f"symbols outside the universe: {', '.join(unknown)}")
    symbols = [s for s in universe if s in config.symbols] if config.symbols else list(universe)
    return SparkJob(
        "compaction_job.py",
        (
            "--lake-root",
            lake_root,
            "--dataset",
            dataset,
            "--start",
            start.isoformat(),
            "--end",
            end.isoformat(),
            "--symbols",
            ",".join(symbols),
            *staging_arguments(staging_run),
        ),
    )


def compacted_asset(dataset: str) -> AssetsDefinition:
    """The asset `{dataset}_compacted`: the compacted copy of `dataset`, written on Spark."""

    @asset(
        name=compacted_key(dataset),
        group_name=COMPACTION_GROUP,
        deps=[AssetKey(dataset)],
        check_specs=check_specs(compacted_key(dataset), blocking=["matches_source"]),
        kinds={"spark", "parquet"},
        description=(
            f"{dataset} compacted to one Parquet file per symbol-year under "
            f"compacted/{dataset}/ (same rows; fewer, larger files for long scans)."
        ),
    )
    def compacted(
        context: AssetExecutionContext,
        config: CompactionConfig,
        lake: LakeResource,
        spark: SparkRunner,
    ) -> MaterializeResult:
        job = compaction_job(lake.root, dataset, config, lake.get_lake().staging_run)
        runner = type(spark).__name__
        context.log.info(f"compacting {dataset} {config.start}..{config.end} on {runner}")
        return spark.run(context, job).get_materialize_result()

    return compacted


compacted_assets = [compacted_asset(dataset) for dataset in COMPACTABLE]

lake_compaction_job = define_asset_job(
    "lake_compaction_job",
    selection=AssetSelection.groups(COMPACTION_GROUP),
    description="Compact every per-day dataset into one file per symbol-year (Spark).",
)


@schedule(
    job=lake_compaction_job,
    cron_schedule="0 4 * * 0",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Weekly compaction of the years of the past seven days (Sunday 04:00 UTC).",
)
def lake_compaction_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    day = context.scheduled_execution_time.date()
    config = CompactionConfig(
        start=(day - timedelta(days=SCHEDULED_DAYS)).isoformat(),
        end=(day - timedelta(days=1)).isoformat(),
    )
    return RunRequest(
        run_key=day.isoformat(),
        run_config=RunConfig(ops={compacted_key(dataset): config for dataset in COMPACTABLE}),
    )
