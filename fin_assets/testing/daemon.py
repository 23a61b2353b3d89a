"""A real deployment for tests and benchmarks: `dagster-daemon run` over a throwaway FIN_HOME.

`running_daemon` starts, with the FIN_* variables of `settings` plus `extra_env`, a long-lived
code server of fin_assets.definitions (`dagster api grpc`, as Helm's code-location deployment
runs and as `dagster dev` keeps one), writes a workspace file pointing at it, starts the daemon
(scheduler, sensors, automation, backfills, run queue) on that workspace, and stops both (and
the run processes the daemon launched) on exit. A daemon given the module itself would manage
its own code server and replace it every minute (Dagster's `RELOAD_WORKSPACE_INTERVAL`),
importing the code location again while runs go on. The output of both goes to `daemon.log` in
FIN_HOME; `DaemonTimeout` quotes its tail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import yaml
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    RunsFilter,
)
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._grpc.client import DagsterGrpcClient
from dagster._grpc.server import wait_for_grpc_server

from fin_assets.definitions import build_definitions
from fin_assets.defs.common.automation import EVALUATION_INTERVAL_SECONDS
from fin_assets.defs.ingest.landing import ACTIVE_RUN_STATUSES
from fin_assets.instance import EVENT_ENVIRONMENT, prepare_instance_environment
from fin_assets.settings import Settings, environ
from fin_assets.testing.ports import free_port
from fin_assets.testing.signals import default_sigint

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
DAEMON = Path(sys.executable).with_name("dagster-daemon")
DAGSTER = Path(sys.executable).with_name("dagster")
LOCATION_NAME = "fin_assets"
# Seconds the code server may take to import and load the code location on a loaded machine.
CODE_SERVER_START_SECONDS = 300
# How long wait_for_run waits for a run by default.
RUN_TIMEOUT_SECONDS = 600
POLL_SECONDS = 1.0
STOP_SECONDS = 60
FINISHED_BACKFILL_STATUSES = {
    BulkActionStatus.COMPLETED,
    BulkActionStatus.COMPLETED_SUCCESS,
    BulkActionStatus.COMPLETED_FAILED,
    BulkActionStatus.FAILED,
    BulkActionStatus.CANCELED,
}


class DaemonTimeout(AssertionError):
    """A condition was not reached in time; the message ends with the daemon log's tail."""


@dataclass(frozen=True)
class Daemon:
    process: subprocess.Popen
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float) -> float:
        """Poll `condition` until true; the seconds it took. Fails if the daemon exits."""
        began = time.perf_counter()
        while not condition():
            if self.process.poll() is not None:
                raise DaemonTimeout(
                    f"daemon exited ({self.process.returncode}) waiting for "
                    f"{what}:\n{self.log_tail()}"
                )
            if time.perf_counter() - began > timeout:
                raise DaemonTimeout(f"{what} not reached in {timeout} s:\n{self.log_tail()}")
            time.sleep(POLL_SECONDS)
        return time.perf_counter() - began

    def settle(self, instance: DagsterInstance, timeout: float) -> None:
        """Idle, and still idle after two more automation evaluations.

        Automation follows every materialization with the downstream partitions' runs; a test
        that stops the daemon before they end would see them interrupted (failed).
        """
        self.wait_for("no run or backfill in progress", lambda: idle(instance), timeout)
        time.sleep(2 * EVALUATION_INTERVAL_SECONDS + 5)
        self.wait_for("no run or backfill in progress", lambda: idle(instance), timeout)


def daemon_environment(settings: Settings, extra_env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with the FIN_* and DAGSTER_* variables of `settings`."""
    return {
        **environ(),
        **EVENT_ENVIRONMENT,
        "DAGSTER_HOME": str(settings.dagster_home),
        "FIN_HOME": str(settings.home),
        "FIN_ENV": settings.env,
        "FIN_SEED": str(settings.seed),
        "FIN_LAKE_URL": settings.lake_url,
        "FIN_DAGSTER_STORAGE": settings.dagster_storage,
        "FIN_DAGSTER_PG_URL": settings.dagster_pg_url,
        "FIN_RUN_LAUNCHER": settings.run_launcher,
        **extra_env,
    }


@contextmanager
def running_daemon(settings: Settings, extra_env: Mapping[str, str]) -> Iterator[Daemon]:
    """`dagster-daemon run` on the instance of `settings` and a code server of its own, both
    stopped on exit with the runs they launched."""
    prepare_instance_environment(settings)
    environment = daemon_environment(settings, extra_env)
    log = settings.home / "daemon.log"
    port = free_port()
    with log.open("w") as output:
        code_server = start_group(code_server_command(port), environment, settings.home, output)
        try:
            wait_for_grpc_server(
                code_server,
                DagsterGrpcClient(host="127.0.0.1", port=port),
                code_server.args,
                timeout=CODE_SERVER_START_SECONDS,
            )
            workspace = settings.home / "workspace.yaml"
            location = {"host": "127.0.0.1", "port": port, "location_name": LOCATION_NAME}
            workspace.write_text(yaml.safe_dump({"load_from": [{"grpc_server": location}]}))
            daemon = start_group(
                [str(DAEMON), "run", "-w", str(workspace)], environment, settings.home, output
            )
        except BaseException:
            stop_group(code_server)
            raise
    try:
        yield Daemon(daemon, log)
    finally:
        stop_group(daemon)
        stop_group(code_server)


def code_server_command(port: int) -> list[str]:
    """`dagster api grpc` serving fin_assets.definitions on 127.0.0.1:`port`."""
    return [
        str(DAGSTER),
        "api",
        "grpc",
        "--module-name",
        "fin_assets.definitions",
        "--working-directory",
        str(REPOSITORY_ROOT),
        "--location-name",
        LOCATION_NAME,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def start_group(
    command: Sequence[str], environment: Mapping[str, str], cwd: Path, output: IO[str]
) -> subprocess.Popen:
    """`command` as the leader of a process group of its own (the processes it launches stop
    with it), SIGINT's default restored so that it obeys SIGTERM."""
    return subprocess.Popen(
        list(command),
        env=dict(environment),
        cwd=cwd,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=default_sigint,
    )


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the process group `process` leads, SIGKILL it if still alive after a while."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def submit_backfill(
    instance: DagsterInstance,
    settings: Settings,
    assets: Sequence[str],
    partition_keys: Sequence[str],
    title: str,
) -> str:
    """Submit an asset backfill of exactly `assets` × `partition_keys`; its id.

    The subset is given per asset (the UI's way, partitions of the roots, is tested in
    test_ui_backfill.py).
    """
    graph = build_definitions(settings).resolve_asset_graph()
    subset = AssetGraphSubset(
        partitions_subsets_by_asset_key={
            AssetKey(name): graph.get(AssetKey(name)).partitions_def.subset_with_partition_keys(
                partition_keys
            )
            for name in assets
        }
    )
    backfill_id = uuid.uuid4().hex[:8]
    backfill = PartitionBackfill.from_asset_graph_subset(
        backfill_id=backfill_id,
        backfill_timestamp=time.time(),
        tags={},
        dynamic_partitions_store=instance,
        asset_graph_subset=subset,
        title=title,
        description=None,
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill_id


def wait_for_run(
    instance: DagsterInstance,
    run_id: str,
    done: Callable[[DagsterRun], bool],
    timeout: float = RUN_TIMEOUT_SECONDS,
) -> DagsterRun:
    """The run once `done(run)` holds; fails the test after `timeout` seconds."""
    began = time.monotonic()
    while not done(run := instance.get_run_by_id(run_id)):
        assert time.monotonic() - began < timeout, f"run {run_id}: {run.status}"
        time.sleep(0.2)
    return run


def backfill_finished(instance: DagsterInstance, backfill_id: str) -> bool:
    backfill = instance.get_backfill(backfill_id)
    return backfill is not None and backfill.status in FINISHED_BACKFILL_STATUSES


def failures(instance: DagsterInstance) -> list[str]:
    """Every failed run of the instance: its job, tags and step/run failure messages."""
    report = []
    for run in instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.FAILURE])):
        lines = [f"{run.job_name} {run.run_id} {dict(run.tags)}"]
        for event_type in (DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE):
            for record in instance.get_records_for_run(run.run_id, of_type=event_type).records:
                entry = record.event_log_entry
                event = entry.dagster_event
                data = event.event_specific_data if event is not None else None
                error = getattr(data, "error", None)
                lines.append(f"  {entry.step_key or 'run'}: {entry.message}")
                if error is not None:
                    lines.append(error.to_string())
        report.append("\n".join(lines))
    return report


def idle(instance: DagsterInstance) -> bool:
    """No run queued or in progress and no backfill unfinished."""
    if instance.get_runs_count(RunsFilter(statuses=ACTIVE_RUN_STATUSES)):
        return False
    backfills = instance.get_backfills(status=BulkActionStatus.REQUESTED)
    return not backfills
