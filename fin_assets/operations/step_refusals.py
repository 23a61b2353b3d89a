"""Bars refused by the OHLC policy in runs, read from the failed runs' step failures.

A vendor payload with bars beyond the OHLC tolerance fails its fetch step (the vendor client
refuses it: fin_assets.defs.ingest.retries), and a stored payload's bars beyond it (or any
source's inconsistent bars under the `reject` policy) fail `intraday_bars` before anything is
written (fin_assets.defs.bars.assets, `OhlcRepairs.refusal`): both steps' Failures carry the
count as the metadata entry `ohlc_refused`. Nothing else records them, so `StepRefusals` sums it
over the step failures of the instance's failed runs, reading each failed run's failures once
(failed runs are few; a run read at an earlier call is not read again).
"""

from __future__ import annotations

import threading

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

REFUSED_METADATA = "ohlc_refused"


def refused_in_run(instance: DagsterInstance, run_id: str) -> int:
    """`ohlc_refused` summed over the run's step failures (0 when none carries it)."""
    total = 0
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE)
    for record in records.records:
        event = record.event_log_entry.dagster_event
        failure = event.step_failure_data if event is not None else None
        user_data = failure.user_failure_data if failure is not None else None
        value = user_data.metadata.get(REFUSED_METADATA) if user_data is not None else None
        if value is not None:
            total += int(value.value)
    return total


class StepRefusals:
    """The bars refused in the failed runs so far (module docstring); thread-safe."""

    def __init__(self, instance: DagsterInstance) -> None:
        self.instance = instance
        self.total = 0
        self._read: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            failed = self.instance.get_run_ids(RunsFilter(statuses=[DagsterRunStatus.FAILURE]))
            for run_id in failed:
                if run_id not in self._read:
                    self.total += refused_in_run(self.instance, run_id)
                    self._read.add(run_id)
            return self.total
