"""The instance's ForkServerRunLauncher (fin_assets.run_launcher) on a real instance.

- A run launched through it (as the CLI's runner and the UI launch: a code server, the run's
  origin and snapshots) succeeds in a worker forked from the fork server, which the run's
  tags and its `Started process for run` event name.
- A worker killed with SIGKILL mid-run is reported FAILED by the launcher's health check, and
  Dagster's run monitoring (the daemon's `monitor_started_run`) fails the run.
- The fork server refuses to fork from a process whose imports started threads, and answers
  `stale` (then exits) once a source file of its preloaded package changed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus
from dagster._core.launcher import WorkerStatus
from dagster._daemon.monitoring.run_monitoring import monitor_started_run

from fin_assets.code_location import launch_run, loaded_code_location
from fin_assets.defs.common.partitions import graph_partitions
from fin_assets.instance import open_instance
from fin_assets.run_launcher import (
    WORKER_PID_TAG,
    ForkServer,
    ForkServerError,
    ForkServerRunLauncher,
)
from fin_assets.runner import SILENT_RUN_CONFIG, RunRequest
from fin_assets.settings import Settings
from fin_assets.testing.daemon import wait_for_run
from fin_assets.universe import load_universe


def worker_status_after_exit(instance: DagsterInstance, run: DagsterRun) -> WorkerStatus:
    """The launcher's health status of the run's worker once it no longer reports RUNNING."""
    began = time.monotonic()
    while (health := instance.run_launcher.check_run_worker_health(run)).status == (
        WorkerStatus.RUNNING
    ):
        assert time.monotonic() - began < 60, "the worker still counts as running"
        time.sleep(0.1)
    return health.status


def started_pid(instance: DagsterInstance, run_id: str) -> int:
    """The pid the run worker's own `Started process for run (pid: N).` event names."""
    (record,) = [
        record
        for record in instance.get_records_for_run(
            run_id, of_type=DagsterEventType.ENGINE_EVENT
        ).records
        if record.event_log_entry.message.startswith("Started process for run")
    ]
    return int(record.event_log_entry.message.split("pid: ")[1].rstrip(")."))


@pytest.mark.slow
def test_runs_run_in_forked_workers_and_a_killed_worker_fails_its_run(
    fin_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = replace(fin_settings, run_launcher="fork")
    instance = open_instance(settings)
    for name, value in settings.environment().items():  # the code and fork servers' FIN_*
        monkeypatch.setenv(name, value)
    assert isinstance(instance.run_launcher, ForkServerRunLauncher)
    with loaded_code_location(instance) as process_context:
        workspace = process_context.create_request_context()
        run = launch_run(workspace, "reference_job", {}, SILENT_RUN_CONFIG)
        run = wait_for_run(instance, run.run_id, lambda r: r.is_finished)
        assert run.status == DagsterRunStatus.SUCCESS
        assert started_pid(instance, run.run_id) == int(run.tags[WORKER_PID_TAG])
        # The worker exits right after the run's last event.
        assert worker_status_after_exit(instance, run) == WorkerStatus.SUCCESS

        first, last = (
            graph_partitions().partition_key(date(2025, 1, 1), "AAPL"),
            graph_partitions().partition_key(date(2025, 3, 31), "AAPL"),
        )
        request = RunRequest("symbol_history_job", str(first), str(last))
        run = launch_run(workspace, request.job_name, request.tags, SILENT_RUN_CONFIG)
        run = wait_for_run(instance, run.run_id, lambda r: r.status != DagsterRunStatus.STARTING)
        assert run.status == DagsterRunStatus.STARTED
        assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
        os.kill(int(run.tags[WORKER_PID_TAG]), signal.SIGKILL)
        assert worker_status_after_exit(instance, run) == WorkerStatus.FAILED
        monitor_started_run(
            instance, workspace, instance.get_run_record_by_id(run.run_id), logging.getLogger()
        )
        failed = instance.get_run_by_id(run.run_id)
        assert failed.status == DagsterRunStatus.FAILURE


def write_package(root: Path, source: str) -> str:
    package = root / "forkpkg"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(source))
    return "forkpkg"


def test_the_fork_server_refuses_to_fork_a_process_with_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = write_package(
        tmp_path,
        """
        import threading, time
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
        """,
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with pytest.raises(ForkServerError, match="exited"):
        ForkServer([module])


def test_the_fork_server_answers_stale_once_a_source_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = write_package(tmp_path, "VALUE = 1\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    server = ForkServer([module])
    try:
        source = tmp_path / "forkpkg" / "__init__.py"
        later = source.stat().st_mtime + 10
        os.utime(source, (later, later))
        assert server.request({"run_id": "x", "instance_ref": "{}"}) == {"stale": True}
        server.process.wait(timeout=30)
        with pytest.raises(OSError), socket.socket(socket.AF_UNIX) as connection:
            connection.connect(server.socket_path)
            connection.sendall(json.dumps({"ping": True}).encode() + b"\n")
    finally:
        server.stop()


def test_the_fork_server_calls_a_targets_preparation_once_before_forking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "prepared"
    module = write_package(
        tmp_path,
        f"""
        import os

        def prepare():
            with open({str(marker)!r}, "a") as marker:
                marker.write(f"{{os.getpid()}}\\n")
        """,
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    server = ForkServer([f"{module}:prepare"])
    try:
        assert marker.read_text() == f"{server.request({'ping': True})['pid']}\n"
    finally:
        server.stop()


def test_the_fork_server_refuses_a_preparation_that_starts_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = write_package(
        tmp_path,
        """
        import threading, time

        def prepare():
            threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
        """,
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    ForkServer([module]).stop()
    with pytest.raises(ForkServerError, match="exited"):
        ForkServer([f"{module}:prepare"])


def test_preparing_run_workers_builds_the_definitions_and_calendars() -> None:
    """fin_assets.definitions.prepare_run_workers, in a fresh process: afterwards the code
    location's definitions and the universe's calendars are built (a worker only reads them)."""
    code = (
        "from fin_assets import definitions\n"
        "from fin_assets.analytics import market_calendar\n"
        "definitions.prepare_run_workers()\n"
        "print(definitions._process_definitions.cache_info().currsize,"
        " market_calendar._calendar.cache_info().currsize)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    calendars = {symbol.calendar for symbol in load_universe()}
    assert result.stdout.split() == ["1", str(len(calendars))]
