"""The instance's runs as the metrics need them, aggregated in SQL over the run storage.

A scrape never reads run records one by one (each a serialized DagsterRun): it sends three
grouped queries to the run storage's tables, whose answers are as long as the jobs × statuses
and the landing file versions ingested, whatever the length of the history:

- `run_summary`: runs per (job, status) with the count, sum and histogram buckets of their wall
  times (`end_time - start_time`, runs with both) and the earliest start; then, per job, the
  newest finished run by end time (ties: the greatest run id);
- `ingested_landing_versions`: the `fin/landing_run_key` tag values (`key@etag`, comma-separated)
  of successful landing runs, with the earliest end of the runs carrying each value.

Every scrape reads the storage as it is now, so a deleted run leaves the metrics at once.
"""

from __future__ import annotations

from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.storage.runs.schema import RunsTable, RunTagsTable
from sqlalchemy import and_, case, func, select

from fin_assets.defs.ingest.landing import LANDING_JOB, LANDING_RUN_KEY_TAG
from fin_assets.operations.metrics import (
    DURATION_BUCKETS,
    FINISHED_STATUSES,
    DurationTotals,
    RunGroup,
    RunObservation,
    RunSummary,
)


def run_summary(instance: DagsterInstance) -> RunSummary:
    """The runs per (job, status) and each job's newest finished run (module docstring)."""
    runs = RunsTable.c
    seconds = runs.end_time - runs.start_time
    groups = select(
        runs.pipeline_name,
        runs.status,
        func.count(),
        func.count(seconds),
        func.coalesce(func.sum(seconds), 0.0),
        func.min(runs.start_time),
        *(func.sum(case((seconds <= bound, 1), else_=0)) for bound in DURATION_BUCKETS),
    ).group_by(runs.pipeline_name, runs.status)
    finished = runs.status.in_(FINISHED_STATUSES) & runs.end_time.isnot(None)
    newest = (
        select(runs.pipeline_name, func.max(runs.end_time).label("end_time"))
        .where(finished)
        .group_by(runs.pipeline_name)
        .subquery()
    )
    last = select(
        runs.run_id, runs.pipeline_name, runs.status, runs.start_time, runs.end_time
    ).join(
        newest,
        and_(runs.pipeline_name == newest.c.pipeline_name, runs.end_time == newest.c.end_time),
    )
    with instance.run_storage.connect() as connection:
        group_rows = connection.execute(groups).all()
        last_rows = connection.execute(last.where(finished)).all()
    last_finished: dict[str, tuple[str, RunObservation]] = {}
    for run_id, job, status, start, end in sorted(last_rows):
        last_finished[job] = (run_id, RunObservation(job, status, start, end))
    return RunSummary(
        groups=[
            RunGroup(
                job=job,
                status=status,
                runs=int(count),
                durations=DurationTotals(int(timed), float(total), tuple(map(int, at_most))),
                earliest_start=earliest,
            )
            for job, status, count, timed, total, earliest, *at_most in group_rows
        ],
        last_finished=last_finished,
    )


def ingested_landing_versions(instance: DagsterInstance) -> dict[str, float]:
    """`key@etag` of every landing file a successful landing run took → when the first such
    run ended (the file's rows were then in the warehouse: landing_job ends with the facts)."""
    runs, tags = RunsTable.c, RunTagsTable.c
    query = (
        select(tags.value, func.min(runs.end_time))
        .join_from(RunTagsTable, RunsTable, tags.run_id == runs.run_id)
        .where(
            tags.key == LANDING_RUN_KEY_TAG,
            runs.pipeline_name == LANDING_JOB,
            runs.status == DagsterRunStatus.SUCCESS.value,
            runs.end_time.isnot(None),
        )
        .group_by(tags.value)
    )
    with instance.run_storage.connect() as connection:
        rows = connection.execute(query).all()
    ended: dict[str, float] = {}
    for value, end in rows:
        for version in filter(None, value.split(",")):
            ended[version] = min(end, ended.get(version, end))
    return ended
