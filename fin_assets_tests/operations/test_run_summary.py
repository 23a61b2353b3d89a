"""The run metrics of a scrape over a real instance: aggregated in SQL over the run storage, so
the first scrape of a new exporter costs the same few grouped queries as every later one and
never reads the run records (their serialized bodies) one by one."""

import time
import uuid
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus
from dagster._core.storage.runs.schema import RunsTable

from fin_assets.defs.ingest.landing import LANDING_JOB, LANDING_RUN_KEY_TAG
from fin_assets.operations.config import OperationsConfig
from fin_assets.operations.metrics import DURATION_BUCKETS, PriceTable
from fin_assets.operations.sources import PlatformSources
from fin_assets.settings import Settings
from fin_assets_tests.operations.samples import samples
from fin_assets_tests.operations.statements import statements_over

# (job, status, start, end): the runs every test adds, times in Unix seconds.
RUNS = [
    ("history", "SUCCESS", 100.0, 130.0),
    ("history", "FAILURE", 200.0, 205.0),
    ("history", "SUCCESS", 300.0, 400.0),
    ("report", "FAILURE", 50.0, 70.0),
    ("report", "STARTED", 900.0, None),
    ("report", "STARTED", 950.0, None),
    ("report", "NOT_STARTED", None, None),
    ("lake_compaction_job", "SUCCESS", 10.0, 610.0),
] + [("history", "SUCCESS", 1000.0 + n, 1000.0 + 2 * n) for n in range(1, 41)]


def add_run(
    instance: DagsterInstance,
    job: str,
    status: str,
    start: float | None,
    end: float | None,
    tags: dict[str, str] | None = None,
) -> str:
    """A run of `job` in `status` with these times, stored as the instance stores runs."""
    run_id = uuid.uuid4().hex
    instance.add_run(
        DagsterRun(job_name=job, run_id=run_id, status=DagsterRunStatus(status), tags=tags or {})
    )
    with instance.run_storage.connect() as connection:
        connection.execute(
            RunsTable.update()
            .where(RunsTable.c.run_id == run_id)
            .values(start_time=start, end_time=end)
        )
    return run_id


@pytest.fixture
def sources(tmp_path: Path) -> PlatformSources:
    instance = DagsterInstance.ephemeral()
    for run in RUNS:
        add_run(instance, *run)
    return PlatformSources(
        settings=Settings.local(tmp_path, dagster_pg_url=""),
        instance=instance,
        asset_keys=[],
        check_keys=[],
        config=OperationsConfig(spark_jobs=("lake_compaction_job",), prices=PriceTable()),
    )


def test_the_first_scrape_aggregates_the_runs_in_sql_without_reading_run_records(
    sources: PlatformSources,
) -> None:
    before = time.time()
    with statements_over("runs") as executed:
        found = samples(sources.instance_metrics() + sources.cost_metrics())
    after = time.time()
    assert executed, "the runs are read from the run storage"
    assert not [s for s in executed if "run_body" in s]
    # Aggregates, and the ids of the runs in progress (CheckTotals' first read).
    assert all("GROUP BY" in s or "runs.status IN" in s for s in executed), executed

    def value(name: str, **labels: str) -> float:
        return found[(name, tuple(sorted(labels.items())))]

    counts: dict[tuple[str, str], int] = {}
    for job, status, _, _ in RUNS:
        counts[(job, status)] = counts.get((job, status), 0) + 1
    for (job, status), count in counts.items():
        assert value("fin_assets_runs", dagster_job=job, status=status) == count
    history = [end - start for job, status, start, end in RUNS if job == "history"]
    assert value("fin_assets_run_duration_seconds_count", dagster_job="history") == len(history)
    assert value("fin_assets_run_duration_seconds_sum", dagster_job="history") == sum(history)
    for bound in DURATION_BUCKETS:
        assert value(
            "fin_assets_run_duration_seconds_bucket", dagster_job="history", le=str(bound)
        ) == sum(seconds <= bound for seconds in history)
    # Newest finished run by end: history's ended at 1080 (40 s, success); report's failed.
    assert value("fin_assets_job_last_run_failed", dagster_job="history") == 0
    assert value("fin_assets_job_last_run_duration_seconds", dagster_job="history") == 40
    assert value("fin_assets_job_last_run_end_timestamp_seconds", dagster_job="history") == 1080
    assert value("fin_assets_job_last_run_failed", dagster_job="report") == 1
    # The running report runs started at 900 and 950: the oldest is 900.
    oldest = value("fin_assets_job_oldest_running_run_age_seconds", dagster_job="report")
    assert before - 900.0 <= oldest <= after - 900.0
    prices = PriceTable()
    run_seconds = sum(
        end - start
        for job, _, start, end in RUNS
        if end is not None and start is not None and job != "lake_compaction_job"
    )
    assert value("fin_assets_estimated_cost_usd", component="runs") == pytest.approx(
        run_seconds * prices.run_second
    )
    assert value("fin_assets_estimated_cost_usd", component="spark") == pytest.approx(
        600.0 * prices.spark_cores * prices.spark_core_second
    )


def test_a_landing_file_is_ingested_by_a_successful_landing_run_carrying_its_version(
    sources: PlatformSources,
) -> None:
    lake = sources.lake
    key, other = "landing/AAPL/2025-01-02/a.csv", "landing/AAPL/2025-01-03/b.csv"
    lake.replace_object(key, b"one")
    lake.replace_object(other, b"two")
    landed = lake.object_info(key).last_modified.timestamp()
    version = f"{key}@{lake.object_etag(key)}"
    add_run(
        sources.instance,
        LANDING_JOB,
        "SUCCESS",
        landed + 10.0,
        landed + 42.5,
        {LANDING_RUN_KEY_TAG: f"{version},{other}@0123"},
    )
    add_run(
        sources.instance,
        LANDING_JOB,
        "FAILURE",
        landed,
        landed + 5.0,
        {LANDING_RUN_KEY_TAG: f"{other}@{lake.object_etag(other)}"},
    )
    with statements_over("runs") as executed:
        found = samples(sources.lake_metrics())
    assert not [s for s in executed if "run_body" in s]
    assert found[("fin_assets_landing_files", (("state", "ingested"),))] == 1
    assert found[("fin_assets_landing_files", (("state", "waiting"),))] == 1
    assert found[("fin_assets_landing_to_warehouse_seconds_sum", ())] == pytest.approx(42.5)
