"""Pool claims cannot wait forever (fin_assets.instance_storage, docs/pool_claims.md)."""

import dataclasses
import io
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    job,
    op,
)
from dagster._core.storage.event_log.base import EventLogStorage
from dagster._core.utils import make_new_run_id
from dagster_postgres.event_log import PostgresEventLogStorage
from rich.console import Console
from rich.progress import Progress

from fin_assets.instance import open_instance
from fin_assets.instance_storage import HOLDER_TAG, PostgresPoolSafeEventLogStorage
from fin_assets.runner import show_events
from fin_assets.settings import Settings

POOL = "test_pool"


@op(pool=POOL)
def load() -> None:
    """A step of POOL (as the warehouse loads are of duckdb_warehouse)."""


@job
def pooled_job() -> None:
    load()


@op(pool=POOL)
def load_forever() -> None:
    """A step of POOL that holds its slot until the process is killed."""
    time.sleep(3600)


@job
def pooled_job_that_hangs() -> None:
    load_forever()


HOLD_THE_SLOT = """
import sys
from pathlib import Path
from fin_assets.instance import open_instance
from fin_assets.settings import Settings
from fin_assets_tests.orchestration.test_pool_claims import pooled_job_that_hangs

settings = Settings.local(Path(sys.argv[1]), dagster_pg_url=sys.argv[2])
pooled_job_that_hangs.execute_in_process(instance=open_instance(settings))
"""


# The holder SIGKILLs itself at one moment of its claim: right after its step was queued and
# assigned the free slot, or right after it claimed that slot, before the claim returned.
DIE_INSIDE_THE_CLAIM = """
import os
import signal
import sys
from pathlib import Path
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from fin_assets.instance import open_instance
from fin_assets.settings import Settings
from fin_assets_tests.orchestration.test_pool_claims import pooled_job

moment = getattr(SqlEventLogStorage, sys.argv[3])

def die_after(*args, **kwargs):
    moment(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)

setattr(SqlEventLogStorage, sys.argv[3], die_after)
settings = Settings.local(Path(sys.argv[1]), dagster_pg_url=sys.argv[2])
pooled_job.execute_in_process(instance=open_instance(settings))
"""


def instance_with_pool(settings: Settings) -> DagsterInstance:
    instance = open_instance(settings)
    instance.event_log_storage.set_concurrency_slots(POOL, 1)
    return instance


def free_between_check_and_insert(
    storage: EventLogStorage, holder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race of Dagster's claim: the holder frees its slot right after the waiter's
    `has_unassigned_slots` saw none free, before the waiter's pending row is inserted."""
    check: Callable[[str], bool] = storage.has_unassigned_slots

    def check_then_free(concurrency_key: str) -> bool:
        monkeypatch.undo()
        answer = check(concurrency_key)
        storage.free_concurrency_slot_for_step(holder, "load")
        return answer

    monkeypatch.setattr(storage, "has_unassigned_slots", check_then_free)


@pytest.mark.parametrize(
    "storage_class",
    [
        PostgresPoolSafeEventLogStorage,
        pytest.param(
            PostgresEventLogStorage,
            marks=pytest.mark.xfail(
                strict=True,
                reason="Dagster 1.13's lost wake-up: when this passes, Dagster fixed it",
            ),
        ),
    ],
)
def test_a_slot_freed_between_the_check_and_the_insert_is_claimed(
    fin_settings: Settings,
    storage_class: type[PostgresEventLogStorage],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instance_with_pool(fin_settings)
    storage = storage_class(fin_settings.dagster_pg_url)
    holder, waiter = make_new_run_id(), make_new_run_id()
    assert storage.claim_concurrency_slot(POOL, holder, "load").is_claimed

    free_between_check_and_insert(storage, holder, monkeypatch)
    claims = [storage.claim_concurrency_slot(POOL, waiter, "load") for _ in range(3)]

    assert claims[-1].is_claimed
    info = storage.get_concurrency_info(POOL)
    assert [(slot.run_id, slot.step_key) for slot in info.claimed_slots] == [(waiter, "load")]


def test_a_step_that_waits_too_long_fails_its_run_naming_the_holder_without_spinning(
    fin_settings: Settings,
) -> None:
    settings = dataclasses.replace(fin_settings, pool_wait_limit_seconds=4)
    instance = instance_with_pool(settings)
    holder = instance.add_run(DagsterRun(job_name="holder", status=DagsterRunStatus.STARTED))
    assert instance.event_log_storage.claim_concurrency_slot(POOL, holder.run_id, "x").is_claimed

    began, cpu_began = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF).ru_utime
    result = pooled_job.execute_in_process(instance=instance, raise_on_error=False)
    seconds = time.monotonic() - began
    cpu_seconds = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu_began

    assert not result.success
    assert 4 <= seconds < 30
    # Dagster's own step loop spins while a step waits (a core at 100 %: ~4 s of CPU here).
    assert cpu_seconds < 2.5, cpu_seconds
    failure = next(
        event.dagster_event
        for event in instance.all_logs(result.run_id)
        if event.dagster_event and event.dagster_event.event_type == DagsterEventType.RUN_FAILURE
    )
    message = failure.job_failure_data.error.message
    assert f"pool {POOL!r}" in message
    assert f"run {holder.run_id} step x" in message
    assert "step load waited" in message
    # The CLI's progress line said what the step waited for.
    shown = io.StringIO()
    progress = Progress(console=Console(file=shown, width=200))
    task = progress.add_task("pooled_job", status="")
    show_events(instance, result.run_id, None, progress, task)
    assert progress.tasks[task].fields["status"] == f"load waits for pool {POOL}"
    # ... and as a line, which a log without a live display (not a terminal) keeps.
    assert f"pooled_job: load waits for pool {POOL}" in shown.getvalue()
    # The waiting step left no pending claim behind; the holder keeps its slot.
    info = instance.event_log_storage.get_concurrency_info(POOL)
    assert [step.run_id for step in info.pending_steps] == [holder.run_id]
    assert [slot.run_id for slot in info.claimed_slots] == [holder.run_id]


def test_slots_of_a_run_marked_failed_are_freed_for_the_next_run(fin_settings: Settings) -> None:
    """A run killed inside a pooled step keeps its slot; marking it failed lets others go on."""
    instance = instance_with_pool(dataclasses.replace(fin_settings, pool_wait_limit_seconds=60))
    killed = instance.add_run(DagsterRun(job_name="killed", status=DagsterRunStatus.STARTED))
    assert instance.event_log_storage.claim_concurrency_slot(POOL, killed.run_id, "x").is_claimed
    instance.report_run_failed(killed)

    began = time.monotonic()
    result = pooled_job.execute_in_process(instance=instance, raise_on_error=False)

    assert result.success
    assert time.monotonic() - began < 30
    info = instance.event_log_storage.get_concurrency_info(POOL)
    assert info.claimed_slots == [] and info.pending_steps == []


def test_a_run_killed_holding_a_slot_is_marked_failed_and_the_next_run_goes_on(
    fin_settings: Settings,
) -> None:
    """SIGKILL inside a pooled step (as in a warehouse load): the next run completes."""
    instance = instance_with_pool(fin_settings)
    storage = instance.event_log_storage
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_SLOT, str(fin_settings.home), fin_settings.dagster_pg_url],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    try:
        deadline = time.monotonic() + 120
        while not storage.get_concurrency_info(POOL).claimed_slots:
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        killed_run_id = storage.get_concurrency_info(POOL).claimed_slots[0].run_id
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()

    began = time.monotonic()
    result = pooled_job.execute_in_process(instance=instance, raise_on_error=False)

    assert result.success
    assert time.monotonic() - began < 30
    killed = instance.get_run_by_id(killed_run_id)
    assert killed.status == DagsterRunStatus.FAILURE
    assert killed.tags[HOLDER_TAG].split(" ")[1] == str(holder.pid)
    failure = instance.get_records_for_run(
        killed_run_id, of_type=DagsterEventType.RUN_FAILURE
    ).records
    assert "is gone while it held a slot of pool 'test_pool'" in failure[0].event_log_entry.message
    info = storage.get_concurrency_info(POOL)
    assert info.claimed_slots == [] and info.pending_steps == []


@pytest.mark.parametrize("moment", ["add_pending_step", "_claim_concurrency_slot"])
def test_a_run_killed_inside_its_claim_does_not_block_the_next_run(
    fin_settings: Settings, moment: str
) -> None:
    """A kill between two statements of a claim (a CI run hung here, the killed run untagged)."""
    instance = instance_with_pool(dataclasses.replace(fin_settings, pool_wait_limit_seconds=60))
    holder = subprocess.run(
        [
            sys.executable,
            "-c",
            DIE_INSIDE_THE_CLAIM,
            str(fin_settings.home),
            fin_settings.dagster_pg_url,
            moment,
        ],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        timeout=120,
        check=False,
    )
    assert holder.returncode == -signal.SIGKILL
    (killed,) = instance.get_runs()
    assert killed.status == DagsterRunStatus.STARTED

    result = pooled_job.execute_in_process(instance=instance, raise_on_error=False)

    assert result.success
    assert instance.get_run_by_id(killed.run_id).status == DagsterRunStatus.FAILURE
    info = instance.event_log_storage.get_concurrency_info(POOL)
    assert info.claimed_slots == [] and info.pending_steps == []
