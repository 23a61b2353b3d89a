"""A demo or backfill: planned up front, run as Dagster runs of the code location, followed live.

Planning (`plan_graph`) happens before anything runs. A demo or backfill is four stages: the
reference dimensions, the date × symbol history (split into up to `parallel_runs` symbol blocks,
each one run over the whole date range), the portfolio over the date range, the market report.
- Look-back: indicators and risk read each symbol's whole daily history from the history start, so
  when a requested symbol lacks daily bars before `start` the history runs start at the first
  missing date (said in the plan's notes).
- Portfolio: `portfolio_risk` and `correlation_matrix` cover the whole universe; they are run
  when every universe symbol has daily bars up to `end` afterwards, and left out otherwise
  (said in the notes, with the command that includes them).
- Arguments that cannot work (dates outside the partitions, unknown symbols) raise PlanError.

Running (`run_stages`) needs no daemon and keeps the UI truthful. It loads the code location
as `fin-assets dev` does (fin_assets.code_location: a workspace with its gRPC code server),
records one backfill of the asset partitions the runs cover (fin_assets.backfill_record), then
launches each stage's runs as the UI's launchpad does: each run created with the job's origin
and snapshots, tagged with the backfill id and who launched it (`user`, `fin/launched_by`), and
handed straight to the instance's run launcher (not to the run queue, which only the daemon
serves), which starts its run worker in a process of its own; the runs of a stage run side by
side. Progress is read from the runs' event logs; a failed stage stops the backfill. When the
runs are over, `finish_backfill` records the backfill's materialized and failed partitions and
its final status. Warehouse steps share the `duckdb_warehouse` pool (limit 1), so concurrent
runs take turns on the DuckDB file.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from logging import getLevelName
from pathlib import Path

from dagster import (
    AssetCheckSeverity,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
)
from dagster._core.events.log import EventLogEntry
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.storage.tags import BACKFILL_ID_TAG, USER_TAG
from dagster._core.workspace.context import BaseWorkspaceRequestContext
from dagster._utils.error import SerializableErrorInfo
from rich.progress import Progress

from fin_assets.backfill_record import add_backfill, finish_backfill
from fin_assets.code_location import launch_run, loaded_code_location, worker_running
from fin_assets.defs.common.partition_ranges import range_tags
from fin_assets.defs.common.partitions import graph_partitions
from fin_assets.defs.operations.freshness import record_daily_freshness
from fin_assets.instance import open_instance
from fin_assets.resources.environments import lake_resource
from fin_assets.settings import Settings, exported
from fin_assets.shared.lake_io import calendar_dates
from fin_assets.shared.partitions import partition_values

# Only warnings and errors from Dagster's console logger; progress is shown by the CLI itself.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# The launched runs print nothing to the terminal: the CLI shows their progress and a summary of
# any failure, and the event log (UI, `run_log`) keeps everything.
SILENT_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
LAUNCHED_BY_TAG = "fin/launched_by"
WORKER_LOST_MESSAGE = "the run's worker process exited without finishing the run"
POLL_SECONDS = 0.5
MAX_CAUSE_CHARS = 300


class PlanError(ValueError):
    """Arguments a demo or backfill cannot run with; the message says why."""


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
class GraphPlan:
    """The stages of runs of a demo or backfill, and what planning added or left out."""

    stages: list[list[RunRequest]]
    notes: list[str]


@dataclass(frozen=True)
class RunOutcome:
    request: RunRequest
    run_id: str
    success: bool
    seconds: float


@dataclass(frozen=True)
class BackfillOutcome:
    """The recorded backfill, its final status, and its runs (stages after a failure not run)."""

    backfill_id: str
    status: BulkActionStatus
    runs: list[RunOutcome]


@dataclass(frozen=True)
class CheckOutcome:
    asset: str
    check: str
    passed: bool
    blocking_severity: bool  # ERROR severity; a failed WARN check is reported, not fatal
    detail: str


@dataclass(frozen=True)
class StepFailure:
    """Why a run failed: the failed step (or `run`), the innermost error's first line."""

    step: str
    cause: str


def plan_runs(
    start: date, end: date, symbols: Sequence[str], parallel_runs: int = 1
) -> list[list[RunRequest]]:
    """Stages of runs materializing the whole graph for [start, end] × symbols."""
    if start > end:
        raise PlanError(f"start {start} is after end {end}")
    partitions = graph_partitions()
    history = [
        RunRequest(
            "symbol_history_job",
            str(partitions.partition_key(start, first)),
            str(partitions.partition_key(end, last)),
        )
        for first, last in partitions.values.member_ranges(symbols, parallel_runs)
    ]
    return [
        [RunRequest("reference_job")],
        history,
        [RunRequest("portfolio_job", start.isoformat(), end.isoformat())],
    ]


def first_missing_daily_bar(existing: set[date], start: date, end: date) -> date | None:
    """The first date of [start, end] without a daily_bars partition."""
    return next((day for day in calendar_dates(start, end) if day not in existing), None)


def plan_graph(
    settings: Settings,
    start: date,
    end: date,
    symbols: Sequence[str],
    parallel_runs: int,
    last_date: date,
) -> GraphPlan:
    """The runs materializing the graph for [start, end] × symbols, then the market report.

    See the module docstring for the look-back and portfolio rules. Raises PlanError for
    arguments that cannot run.
    """
    if not symbols:
        raise PlanError("no symbols given")
    if parallel_runs < 1:
        raise PlanError(f"--parallel-runs must be at least 1, not {parallel_runs}")
    values = partition_values()
    if start < values.history_start:
        raise PlanError(
            f"start {start} is before the partitions' first date {values.history_start}"
        )
    if end > last_date:
        raise PlanError(f"end {end} is after the last complete date {last_date}")
    if start > end:
        raise PlanError(f"start {start} is after end {end}")
    unknown = sorted(set(symbols) - set(values.symbols))
    if unknown:
        raise PlanError(f"unknown symbols {unknown}; the universe has {', '.join(values.symbols)}")
    lake = lake_resource(settings).get_lake()
    existing = {symbol: lake.existing_dates("daily_bars", symbol) for symbol in values.symbols}
    notes = []
    missing = {
        symbol: day
        for symbol in symbols
        if (
            day := first_missing_daily_bar(
                existing[symbol], values.history_start, start - timedelta(1)
            )
        )
    }
    history_start = min(missing.values(), default=start)
    if missing:
        listed = ", ".join(f"{symbol} from {day}" for symbol, day in missing.items())
        notes.append(
            f"look-back: daily bars are missing before {start} ({listed}); indicators and risk "
            f"read each symbol's whole history, so the history runs start at {history_start}"
        )
    stages = plan_runs(history_start, end, symbols, parallel_runs)
    others = [s for s in values.symbols if s not in symbols]
    incomplete = [
        s for s in others if first_missing_daily_bar(existing[s], values.history_start, end)
    ]
    if incomplete:
        stages = stages[:-1]
        notes.append(
            "portfolio: not run — portfolio_risk and correlation_matrix cover the whole universe "
            f"and {', '.join(incomplete)} lack daily bars up to {end}; include them with "
            f"`fin-assets backfill --start {start} --end {end}` (every symbol)"
        )
    return GraphPlan(stages=[*stages, [RunRequest("report_job")]], notes=notes)


def launch_tags(command: str) -> dict[str, str]:
    """Tags naming who launched a run or backfill: the OS user and the fin-assets command."""
    return {USER_TAG: getpass.getuser(), LAUNCHED_BY_TAG: command}


def show_events(
    instance: DagsterInstance, run_id: str, cursor: str | None, progress: Progress, task: int
) -> str | None:
    """Show the run's new events (current step, a step waiting for its pool, latest message);
    the new cursor. A step waiting for its pool is also printed as a line."""
    page = instance.get_records_for_run(run_id, cursor=cursor, limit=10_000)
    for record in page.records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event is None:
            progress.update(task, status=entry.user_message[:60])
        elif event.event_type == DagsterEventType.STEP_START:
            progress.update(task, status=str(event.step_key))
        elif event.is_engine_event and "pool" in event.engine_event_data.metadata:
            pool = event.engine_event_data.metadata["pool"].value
            waiting = f"{event.step_key} waits for pool {pool}"
            progress.update(task, status=waiting)
            # Also a line of its own: a log without a live display (not a terminal) says so too.
            description = progress.tasks[task].description
            progress.console.print(f"{description}: {waiting}", markup=False, soft_wrap=True)
        elif event.event_type == DagsterEventType.STEP_SUCCESS:
            progress.advance(task)
    return page.cursor if page.records else cursor


def _follow(
    workspace: BaseWorkspaceRequestContext, tasks: dict[str, int], progress: Progress
) -> dict[str, bool]:
    """Show the runs' progress until every run has finished; success by run id.

    A run whose worker process exited without finishing it (killed, out of memory) is marked
    failed, as Dagster's run monitoring does when the daemon runs.
    """
    instance = workspace.instance
    cursors: dict[str, str | None] = dict.fromkeys(tasks)
    results: dict[str, bool] = {}
    while len(results) < len(tasks):
        time.sleep(POLL_SECONDS)
        for run_id, task in tasks.items():
            if run_id in results:
                continue
            run = instance.get_run_by_id(run_id)  # before the events: none is missed at the end
            cursors[run_id] = show_events(instance, run_id, cursors[run_id], progress, task)
            if not run.is_finished and not worker_running(workspace, run):
                run = instance.get_run_by_id(run_id)  # it may have finished since
                if not run.is_finished:
                    instance.report_run_failed(run, WORKER_LOST_MESSAGE)
                    continue
            if run.is_finished:
                results[run_id] = run.status == DagsterRunStatus.SUCCESS
                status = "[green]succeeded" if results[run_id] else "[red]failed"
                progress.update(task, status=status)
    return results


def _launch(
    workspace: BaseWorkspaceRequestContext, tags: dict[str, str], request: RunRequest
) -> DagsterRun:
    return launch_run(workspace, request.job_name, {**request.tags, **tags}, SILENT_RUN_CONFIG)


def run_stages(
    settings: Settings,
    stages: list[list[RunRequest]],
    progress: Progress,
    command: str = "fin-assets",
    title: str | None = None,
) -> BackfillOutcome:
    """Launch each stage's runs side by side as one backfill; stop after a failed stage."""
    instance = open_instance(settings)
    # The code server and the run workers build these settings' defs; the process's own
    # environment is as before once they are gone.
    with exported(settings.environment()):
        tags = launch_tags(command)
        outcomes: list[RunOutcome] = []
        with loaded_code_location(instance) as process_context:
            backfill_id = add_backfill(
                process_context,
                [(request.job_name, request.tags) for stage in stages for request in stage],
                tags,
                title or command,
            )
            run_tags = {**tags, BACKFILL_ID_TAG: backfill_id}
            for stage in stages:
                workspace = process_context.create_request_context()
                began = time.perf_counter()
                # Launched together: the run launcher returns once a run's worker has started.
                with ThreadPoolExecutor(max_workers=len(stage)) as launcher:
                    runs = list(launcher.map(partial(_launch, workspace, run_tags), stage))
                tasks = {}
                for request, run in zip(stage, runs, strict=True):
                    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
                    steps = len(plan.step_keys_to_execute)
                    tasks[run.run_id] = progress.add_task(
                        request.label, total=steps, status="running"
                    )
                results = _follow(workspace, tasks, progress)
                seconds = time.perf_counter() - began
                outcomes += [
                    RunOutcome(request, run_id, results[run_id], seconds)
                    for request, run_id in zip(stage, tasks, strict=True)
                ]
                if not all(results.values()):
                    break
            all_succeeded = all(outcome.success for outcome in outcomes)
            status = finish_backfill(process_context, backfill_id, all_succeeded)
        record_daily_freshness(instance)
        instance.dispose()  # its run launcher's fork server with it: every run has finished
    return BackfillOutcome(backfill_id, status, outcomes)


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


def one_line_cause(error: SerializableErrorInfo) -> str:
    """The innermost cause's first line (Dagster wraps a step's own exception)."""
    while error.cause is not None:
        error = error.cause
    lines = error.message.strip().splitlines() or [error.cls_name or "unknown error"]
    return lines[0][:MAX_CAUSE_CHARS]


def _event_error(entry: EventLogEntry) -> SerializableErrorInfo | None:
    """The error an event carries (step and run failures, engine errors), if any."""
    event = entry.dagster_event
    error = getattr(event.event_specific_data, "error", None) if event is not None else None
    return error if isinstance(error, SerializableErrorInfo) else None


def step_failures(instance: DagsterInstance, run_id: str) -> list[StepFailure]:
    """The failed steps of a run with their causes; when no step failed, the run's failure with
    the error that caused it (a failed launch's is in an engine event)."""
    failures = []
    for record in instance.get_records_for_run(
        run_id, of_type=DagsterEventType.STEP_FAILURE
    ).records:
        entry = record.event_log_entry
        error = entry.dagster_event.event_specific_data.error
        failures.append(StepFailure(entry.step_key, one_line_cause(error)))
    if failures:
        return failures
    run_failure = instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_FAILURE)
    if not run_failure.records:
        return []
    errors = [
        error
        for event_type in (DagsterEventType.RUN_FAILURE, DagsterEventType.ENGINE_EVENT)
        for record in instance.get_records_for_run(run_id, of_type=event_type).records
        if (
            error := getattr(
                record.event_log_entry.dagster_event.event_specific_data, "error", None
            )
        )
    ]
    message = run_failure.records[-1].event_log_entry.message
    return [StepFailure("run", one_line_cause(errors[0]) if errors else message)]


def write_run_log(instance: DagsterInstance, run_id: str, folder: Path) -> Path:
    """Write the run's whole event log, errors with their tracebacks, to `folder/<run_id>.log`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.log"
    with path.open("w") as log:
        cursor = None
        while True:
            page = instance.get_records_for_run(run_id, cursor=cursor, limit=10_000)
            for record in page.records:
                entry = record.event_log_entry
                moment = datetime.fromtimestamp(entry.timestamp, UTC)
                stamp = moment.isoformat(timespec="milliseconds")
                kind = entry.dagster_event_type.value if entry.dagster_event_type else "LOG"
                level = getLevelName(entry.level)
                log.write(f"{stamp} {level} {kind} {entry.step_key or '-'} {entry.message}\n")
                error = _event_error(entry)
                if error is not None:
                    log.write(error.to_string())
            if not page.has_more:
                return path
            cursor = page.cursor
