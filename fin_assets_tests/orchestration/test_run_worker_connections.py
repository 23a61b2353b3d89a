"""A run worker's instance keeps its Postgres connections for the run (fin_assets.fork_server).

Dagster's storages open a new connection for every event they write and every query they make
(NullPool), except in the webserver; a run worker of the fork launcher pools them for its run.
"""

from collections import Counter

from dagster import DagsterRun
from dagster._core.utils import make_new_run_id
from sqlalchemy import event

from fin_assets.fork_server import keep_connections
from fin_assets.instance import open_instance
from fin_assets.settings import Settings

EVENTS = 20


def test_a_run_worker_writes_its_events_and_reads_its_run_through_one_connection(
    fin_settings: Settings,
) -> None:
    instance = open_instance(fin_settings)
    keep_connections(instance)
    connects: Counter[str] = Counter()
    for name, storage in (("events", instance.event_log_storage), ("runs", instance.run_storage)):
        event.listen(storage._engine, "connect", lambda *_, name=name: connects.update([name]))
    run = instance.add_run(DagsterRun(job_name="landing_job", run_id=make_new_run_id()))
    for n in range(EVENTS):
        instance.report_engine_event(f"step {n}", run)
        assert instance.get_run_by_id(run.run_id) is not None
    assert len(instance.all_logs(run.run_id)) == EVENTS
    assert connects == {"events": 1, "runs": 1}
