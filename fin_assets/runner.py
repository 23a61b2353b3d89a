"""Running the jobs over partition ranges: a few range runs, in parallel, with live progress.

A demo or backfill is three stages: the reference dimensions, the date × symbol history (split
into up to `parallel_runs` symbol blocks, each one run over the whole date range, executed in
separate processes), then the portfolio over the date range. Runs are recorded in the instance
under FIN_HOME, so they appear in `dagster dev`. Warehouse steps share the `duckdb_warehouse`
pool (limit 1), so concurrent runs take turns on the DuckDB file.
"""

import multiprocessing
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date

from dagster import AssetCheckSeverity, DagsterEventType, DagsterInstance
from dagster._core.utils import make_new_run_id
from rich.progress import Progress

from fin_assets.definitions import build_definitions
from fin_assets.defs.partition_ranges import member_ranges, range_tags
from fin_assets.defs.partitions import partition_key
from fin_assets.instance import open_instance
from fin_assets.settings import Settings

# Only warnings and errors from Dagster's console logger; progress is shown by the CLI itself.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class RunRequest:
    """One run: a job and its partition range (None for unpartitioned jobs)."""

    job_name: str
    range_start: str | None = None
    range_end: str | None = None

    @property
    def tags(self) -> dict[str, str]:
        if self.range_start is None or self.range_end is None:
            return {}
        return range_tags(self.range_start, self.range_end)

    @property
    def label(self) -> str:
        if self.range_start is None:
            return self.job_name
        return f"{self.job_name} {self.range_start} → {self.range_end}"


@dataclass(frozen=True)
class RunOutcome:
    request: RunRequest
    run_id: str
    success: bool
    seconds: float


@dataclass(frozen=True)
class CheckOutcome:
    asset: str
    check: str
    passed: bool
    blocking_severity: bool  # ERROR severity; a failed WARN check is reported, not fatal
    detail: str


def plan_runs(
    start: date, end: date, symbols: Sequence[str], parallel_runs: int = 1
) -> list[list[RunRequest]]:
    """Stages of runs materializing the whole graph for [start, end] × symbols."""
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    history = [
        RunRequest(
            "symbol_history_job", str(partition_key(start, first)), str(partition_key(end, last))
        )
        for first, last in member_ranges(symbols, parallel_runs)
    ]
    return [
        [RunRequest("reference_job")],
        history,
        [RunRequest("portfolio_job", start.isoformat(), end.isoformat())],
    ]


def execute_run(settings: Settings, request: RunRequest, run_id: str) -> bool:
    """Execute one run in this process, recorded in the instance under FIN_HOME."""
    instance = open_instance(settings)
    job = build_definitions(settings).resolve_job_def(request.job_name)
    result = job.execute_in_process(
        instance=instance,
        run_id=run_id,
        tags=request.tags,
        run_config=QUIET_RUN_CONFIG,
        raise_on_error=False,
    )
    return result.success


def _follow(
    instance: DagsterInstance, run_id: str, progress: Progress, task: int, done: threading.Event
) -> None:
    """Show a run's current step and latest log message until `done` is set."""
    cursor: str | None = None
    while not done.wait(POLL_SECONDS):
        page = instance.get_records_for_run(run_id, cursor=cursor, limit=10_000)
        for record in page.records:
            entry = record.event_log_entry
            event = entry.dagster_event
            if event is None:
                progress.update(task, status=entry.user_message[:60])
            elif event.event_type == DagsterEventType.STEP_START:
                progress.update(task, status=str(event.step_key))
            elif event.event_type == DagsterEventType.STEP_SUCCESS:
                progress.advance(task)
        cursor = page.cursor


def run_stages(
    settings: Settings, stages: list[list[RunRequest]], progress: Progress
) -> list[RunOutcome]:
    """Run each stage's requests concurrently (one process each); stop after a failed stage."""
    instance = open_instance(settings)
    defs = build_definitions(settings)
    outcomes: list[RunOutcome] = []
    context = multiprocessing.get_context("spawn")
    for stage in stages:
        run_ids = [make_new_run_id() for _ in stage]
        done = threading.Event()
        followers = []
        for request, run_id in zip(stage, run_ids, strict=True):
            steps = len(defs.resolve_job_def(request.job_name).graph.nodes)
            task = progress.add_task(request.label, total=steps, status="starting")
            follower = threading.Thread(
                target=_follow, args=(instance, run_id, progress, task, done), daemon=True
            )
            follower.start()
            followers.append((follower, task, steps))
        began = time.perf_counter()
        with ProcessPoolExecutor(max_workers=len(stage), mp_context=context) as pool:
            futures = [
                pool.submit(execute_run, settings, request, run_id)
                for request, run_id in zip(stage, run_ids, strict=True)
            ]
            results = [future.result() for future in futures]
        done.set()
        for (follower, task, steps), success in zip(followers, results, strict=True):
            follower.join()
            status = "[green]succeeded" if success else "[red]failed"
            progress.update(task, completed=steps, status=status)
        seconds = time.perf_counter() - began
        outcomes += [
            RunOutcome(request, run_id, success, seconds)
            for request, run_id, success in zip(stage, run_ids, results, strict=True)
        ]
        if not all(results):
            break
    return outcomes


def check_outcomes(instance: DagsterInstance, run_id: str) -> list[CheckOutcome]:
    """Every asset check evaluated by a run, from the instance's event log."""
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION, limit=100_000
    ).records
    outcomes = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.asset_check_evaluation_data
        detail = evaluation.metadata.get("detail")
        outcomes.append(
            CheckOutcome(
                asset=evaluation.asset_key.to_user_string(),
                check=evaluation.check_name,
                passed=evaluation.passed,
                blocking_severity=evaluation.severity == AssetCheckSeverity.ERROR,
                # The description says what the run found and what earlier runs left failing.
                detail=evaluation.description or (str(detail.value) if detail is not None else ""),
            )
        )
    return outcomes
