"""The local instance's run coordinator: Dagster's run queue, except for runs that must not wait.

Dagster's QueuedRunCoordinator puts every submitted run in the queue, which the daemon's
QueuedRunCoordinatorDaemon looks at every `dequeue_interval_seconds` and launches from: a
landing run created by the landing sensor waited there 1 to 3.5 s (BENCHMARKS.md, Freshness:
created → launched), for a queue that holds nothing back from it (its partitions are in no
other run: the sensor checks that before requesting it).

`AtOnceOrQueuedRunCoordinator` launches a run tagged `LAUNCH_AT_ONCE_TAG: "true"` in the
process that submits it (the sensor daemon's thread), as Dagster's DefaultRunCoordinator does
with every run, and queues every other run as QueuedRunCoordinator does (its configuration:
`max_concurrent_runs`, `tag_concurrency_limits`, `dequeue_interval_seconds`, ...). A run
launched at once does not wait for `max_concurrent_runs` or the tag limits; it still counts
towards them for the queued runs, and its steps take their pools' slots like any other run's.
A launch that fails marks the run failed (Dagster's `launch_run`) and fails the sensor's tick,
which the UI shows.
"""

from __future__ import annotations

from dagster import DagsterRun, DagsterRunStatus
from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext

# The tag of a run the coordinator launches without queueing it (value "true").
LAUNCH_AT_ONCE_TAG = "fin/launch_at_once"


class AtOnceOrQueuedRunCoordinator(QueuedRunCoordinator):
    """QueuedRunCoordinator that launches runs tagged LAUNCH_AT_ONCE_TAG at once (module
    docstring)."""

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        if run.tags.get(LAUNCH_AT_ONCE_TAG) != "true" or run.status != DagsterRunStatus.NOT_STARTED:
            return super().submit_run(context)
        return self._instance.launch_run(run.run_id, context.workspace)
