"""Running the jobs over partition ranges, one run per range, with live progress."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from dagster import DagsterEventType, DagsterInstance, ExecuteInProcessResult, JobDefinition
from dagster._core.utils import make_new_run_id
from rich.progress import Progress

from fin_assets.defs.partitions import SYMBOLS

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
        return {
            "dagster/asset_partition_range_start": self.range_start,
            "dagster/asset_partition_range_end": self.range_end,
        }


def symbol_blocks(symbols: Sequence[str]) -> list[tuple[str, str]]:
    """Contiguous blocks (first, last) of the universe order covering `symbols`.

    A range of a date × symbol partitions definition is a rectangle over the universe order, so
    any symbol set is covered by one run per contiguous block.
    """
    unknown = sorted(set(symbols) - set(SYMBOLS))
    if unknown:
        raise ValueError(f"unknown symbols {unknown}; the universe has {', '.join(SYMBOLS)}")
    wanted = [s in set(symbols) for s in SYMBOLS]
    blocks: list[tuple[str, str]] = []
    for index, symbol in enumerate(SYMBOLS):
        if wanted[index] and (index == 0 or not wanted[index - 1]):
            blocks.append((symbol, symbol))
        elif wanted[index]:
            blocks[-1] = (blocks[-1][0], symbol)
    return blocks


def plan_runs(start: date, end: date, symbols: Sequence[str]) -> list[RunRequest]:
    """The runs that materialize the whole graph for [start, end] × symbols."""
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    runs = [RunRequest("reference_job")]
    runs += [
        RunRequest("symbol_history_job", f"{start}|{first}", f"{end}|{last}")
        for first, last in symbol_blocks(symbols)
    ]
    runs.append(RunRequest("portfolio_job", start.isoformat(), end.isoformat()))
    return runs


def _follow(
    instance: DagsterInstance, run_id: str, progress: Progress, task: int, done: threading.Event
) -> None:
    """Show the run's current step and latest message until `done` is set."""
    cursor: str | None = None
    while not done.wait(POLL_SECONDS):
        page = instance.get_records_for_run(run_id, cursor=cursor, limit=10_000)
        for record in page.records:
            entry = record.event_log_entry
            event = entry.dagster_event
            if event is None:
                progress.update(task, status=entry.user_message[:70])
            elif event.event_type == DagsterEventType.STEP_START:
                progress.update(task, status=str(event.step_key))
            elif event.event_type == DagsterEventType.STEP_SUCCESS:
                progress.advance(task)
        cursor = page.cursor


def execute(
    instance: DagsterInstance, job: JobDefinition, request: RunRequest, progress: Progress
) -> ExecuteInProcessResult:
    """Execute one run in this process, recorded in the instance, showing its steps."""
    run_id = make_new_run_id()
    steps = len(job.graph.nodes)
    label = request.job_name
    if request.range_start:
        label += f" {request.range_start} → {request.range_end}"
    task = progress.add_task(label, total=steps, status="starting")
    done = threading.Event()
    follower = threading.Thread(
        target=_follow, args=(instance, run_id, progress, task, done), daemon=True
    )
    follower.start()
    try:
        result = job.execute_in_process(
            instance=instance,
            run_id=run_id,
            tags=request.tags,
            run_config=QUIET_RUN_CONFIG,
            raise_on_error=False,
        )
    finally:
        done.set()
        follower.join()
    progress.update(
        task, completed=steps, status="[green]succeeded" if result.success else "[red]failed"
    )
    return result
