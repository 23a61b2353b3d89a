"""The instance's event-log storage: Dagster's own, with pool claims that cannot wait forever.

Every run of every executor claims its steps' pool slots through the event-log storage
(`claim_concurrency_slot`), so that is where this project mends two defects of Dagster 1.13.27
(docs/pool_claims.md has the analysis and a minimal reproduction):

- **A lost wake-up.** `claim_concurrency_slot` checks for a free slot (`has_unassigned_slots`)
  and inserts the step's pending row in two separate statements. A slot freed by another run
  between the two is offered (`assign_pending_steps`) to no one: the new row stays unassigned
  and the slot free, and nothing assigns it again. The run waits forever.
- **A busy wait.** The step loop never sleeps between two claim checks
  (`InstanceConcurrencyContext.interval_to_next_pending_claim_check` returns `min(0, …)`), so a
  waiting run spins a core at 100 %.

`PoolClaimsMixin` keeps Dagster's claim and adds, for a claim that comes back blocked:

- if the pool has a slot no pending step is assigned to, the pool's next pending step (highest
  priority, then oldest) is assigned, as a slot freed at that moment would have done;
- slots still held by runs that have ended (failed, canceled, succeeded or deleted) are freed:
  marking a crashed run failed then frees its slots (Dagster only frees them from the run's own
  process, which a SIGKILL never lets run);
- a run whose orchestrating process is gone from this host (killed while holding or queued
  for a slot) is marked failed and its slots and queued steps freed: a run is tagged with the
  claiming process (HOLDER_TAG: host, pid and start time) before its first claim, so a kill at
  any point of a claim leaves the tag. Runs claiming from other hosts (Kubernetes pods) are
  left to Dagster's run monitoring;
- the claim returns after at most POLL_SECONDS since the step's previous check, so a waiting
  run polls twice a second instead of spinning;
- a step that has waited longer than `pool_wait_limit_seconds` fails its run with a
  PoolWaitTimeout naming the pool, its limit and the runs and steps holding its slots.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from typing import Any

import psutil
from dagster import DagsterRun, DagsterRunStatus, Field, IntSource, RunsFilter
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData
from dagster._utils.concurrency import ConcurrencyClaimStatus
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

from fin_assets.settings import DEFAULT_POOL_WAIT_LIMIT_SECONDS

# The run tag naming the process that claimed a run's pool slots: "host pid start-time".
HOLDER_TAG = "fin/pool_holder"
# A waiting step checks its claim at most this often.
POLL_SECONDS = 0.5
ACTIVE_RUN_STATUSES = frozenset(
    {
        DagsterRunStatus.QUEUED,
        DagsterRunStatus.NOT_STARTED,
        DagsterRunStatus.STARTING,
        DagsterRunStatus.STARTED,
        DagsterRunStatus.CANCELING,
        DagsterRunStatus.MANAGED,
    }
)
POOL_WAIT_FIELD = {
    "pool_wait_limit_seconds": Field(
        IntSource,
        is_required=False,
        default_value=DEFAULT_POOL_WAIT_LIMIT_SECONDS,
        description="Seconds a step may wait for a pool slot before its run fails.",
    )
}


class PoolWaitTimeout(Exception):
    """A step waited longer than the instance allows for a slot of its pool."""


def process_identity(pid: int) -> str | None:
    """ "host pid start-time" of a process of this host, None if there is no such process."""
    try:
        started = psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return None
    return f"{socket.gethostname()} {pid} {started:.2f}"


def holder_is_gone(run: DagsterRun) -> bool:
    """Whether the process that claimed `run`'s slots ran on this host and no longer exists."""
    holder = run.tags.get(HOLDER_TAG)
    if holder is None:
        return False
    host, pid, _ = holder.split(" ")
    return host == socket.gethostname() and process_identity(int(pid)) != holder


class PoolClaimsMixin:
    """Pool claims without lost wake-ups, busy waits or waits without end (module docstring).

    Mixed in before a `SqlEventLogStorage` subclass; `_init_pool_claims` must run in __init__.
    """

    pool_wait_limit_seconds: float
    # (pool, run id, step key) → monotonic time of the step's first blocked claim / last check.
    _waiting_since: dict[tuple[str, str, str], float]
    _last_check: dict[tuple[str, str, str], float]

    def _init_pool_claims(self, pool_wait_limit_seconds: float) -> None:
        self.pool_wait_limit_seconds = pool_wait_limit_seconds
        self._waiting_since = {}
        self._last_check = {}
        self._tagged_runs: set[str] = set()

    def claim_concurrency_slot(
        self, concurrency_key: str, run_id: str, step_key: str, priority: int | None = None
    ) -> ConcurrencyClaimStatus:
        waiter = (concurrency_key, run_id, step_key)
        # Tagged before its first claim: a run killed at any point of a claim is tagged.
        self._tag_holder(run_id)
        last_check = self._last_check.get(waiter)
        if last_check is not None:
            time.sleep(max(0.0, last_check + POLL_SECONDS - time.monotonic()))
        claim = super().claim_concurrency_slot  # type: ignore[misc]
        status = claim(concurrency_key, run_id, step_key, priority)
        if not status.is_claimed:
            self._free_slots_of_ended_runs(concurrency_key)
            if not status.is_assigned and self.has_unassigned_slots(concurrency_key):  # type: ignore[attr-defined]
                self.assign_pending_steps([concurrency_key])  # type: ignore[attr-defined]
            status = claim(concurrency_key, run_id, step_key, priority)
        now = time.monotonic()
        if status.is_claimed:
            self._waiting_since.pop(waiter, None)
            self._last_check.pop(waiter, None)
            return status
        self._last_check[waiter] = now
        waited = now - self._waiting_since.setdefault(waiter, now)
        if waited > self.pool_wait_limit_seconds:
            raise PoolWaitTimeout(self._wait_message(concurrency_key, step_key, waited))
        # This storage paces the checks: the step loop may ask again at once.
        return status.with_sleep_interval(0.0)

    def _tag_holder(self, run_id: str) -> None:
        """Tag the run with this process (HOLDER_TAG), once per run."""
        if run_id in self._tagged_runs or not self.has_instance:  # type: ignore[attr-defined]
            return
        identity = process_identity(os.getpid())
        if identity is not None and self._instance.has_run(run_id):  # type: ignore[attr-defined]
            self._instance.add_run_tags(run_id, {HOLDER_TAG: identity})  # type: ignore[attr-defined]
        self._tagged_runs.add(run_id)

    def _free_slots_of_ended_runs(self, concurrency_key: str) -> None:
        """Free the slots and queued steps of `concurrency_key` held by runs that have ended,
        marking failed the runs whose process is gone from this host.

        A dead run's queued steps matter as much as its slots: one assigned a slot it never
        claimed keeps that slot from every other step."""
        if not self.has_instance:  # type: ignore[attr-defined]
            return
        instance = self._instance  # type: ignore[attr-defined]
        info = self.get_concurrency_info(concurrency_key)  # type: ignore[attr-defined]
        run_ids = {slot.run_id for slot in info.claimed_slots}
        run_ids |= {step.run_id for step in info.pending_steps}
        if not run_ids:
            return
        # One query for all of them: every waiting step of every run repeats a blocked claim
        # twice a second.
        runs = {run.run_id: run for run in instance.get_runs(RunsFilter(run_ids=list(run_ids)))}
        for run_id in run_ids:
            run = runs.get(run_id)
            if run is not None and run.status in ACTIVE_RUN_STATUSES:
                if not holder_is_gone(run):
                    continue
                instance.report_run_failed(
                    run,
                    f"The process of this run ({run.tags[HOLDER_TAG]}) is gone while it held "
                    f"a slot of pool {concurrency_key!r}: marked failed, its slots freed.",
                )
            self.free_concurrency_slots_for_run(run_id)  # type: ignore[attr-defined]

    def _wait_message(self, concurrency_key: str, step_key: str, waited: float) -> str:
        info = self.get_concurrency_info(concurrency_key)  # type: ignore[attr-defined]
        holders = ", ".join(
            f"run {slot.run_id} step {slot.step_key}" for slot in info.claimed_slots
        )
        return (
            f"step {step_key} waited {waited:.0f} s (limit {self.pool_wait_limit_seconds:.0f} s)"
            f" for a slot of pool {concurrency_key!r} ({info.slot_count} slot(s), held by "
            f"{holders or 'no run'}; {len(info.pending_steps)} step(s) pending). Free a dead "
            "run's slots from the UI (Deployment → Concurrency) or mark the run failed."
        )


class PostgresPoolSafeEventLogStorage(PoolClaimsMixin, PostgresEventLogStorage):
    """dagster-postgres's event-log storage with this module's pool claims."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        pool_wait_limit_seconds: float = DEFAULT_POOL_WAIT_LIMIT_SECONDS,
        **kwargs: Any,
    ):
        super().__init__(postgres_url, should_autocreate_tables, inst_data, **kwargs)
        self._init_pool_claims(pool_wait_limit_seconds)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {**PostgresEventLogStorage.config_type(), **POOL_WAIT_FIELD}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PostgresPoolSafeEventLogStorage:
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
            pool_wait_limit_seconds=config_value["pool_wait_limit_seconds"],
        )


class SqlitePoolSafeEventLogStorage(PoolClaimsMixin, SqliteEventLogStorage):
    """Dagster's SQLite event-log storage with this module's pool claims."""

    def __init__(
        self,
        base_dir: str,
        inst_data: ConfigurableClassData | None = None,
        pool_wait_limit_seconds: float = DEFAULT_POOL_WAIT_LIMIT_SECONDS,
    ):
        super().__init__(base_dir, inst_data)
        self._init_pool_claims(pool_wait_limit_seconds)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {**SqliteEventLogStorage.config_type(), **POOL_WAIT_FIELD}

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> SqlitePoolSafeEventLogStorage:
        return cls(
            base_dir=config_value["base_dir"],
            inst_data=inst_data,
            pool_wait_limit_seconds=config_value["pool_wait_limit_seconds"],
        )
