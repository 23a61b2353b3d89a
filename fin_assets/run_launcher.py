"""ForkServerRunLauncher: the instance's run launcher, each run forked from a pre-imported process.

Dagster's DefaultRunLauncher asks the code server to start `dagster api execute_run`, a fresh
interpreter that imports the code location before the run's first step (9 to 30 s of a landing
run's latency on a loaded 2-core machine; BENCHMARKS.md, Freshness). This launcher keeps a fork
server (fin_assets.fork_server) that has imported the code location once and forks the run
worker of each run: the worker executes the run exactly as `dagster api execute_run` would, from
the run's own code origin, on its own instance connection.

- One fork server per launcher (the daemon's, the CLI runner's, the UI's instance), started on
  its first launch, its children in the launcher's process group; restarted when it has died
  or when a source file of the code location changed (it answers `stale`); stopped when the
  instance is disposed or the launcher collected, or when the process that started it exits
  (its running workers go on).
- The run's tags record the worker: `fin/run_worker_pid`, `fin/run_worker_started` (process
  creation time, so a reused pid is never mistaken for the worker) and `fin/run_worker_host`.
- Health (`check_run_worker_health`, used by Dagster's run monitoring and by the CLI's runner):
  RUNNING while the worker process lives; once it has exited, SUCCESS if the run is finished,
  else FAILED — a worker killed by SIGKILL or the OOM killer is detected and its run failed by
  the monitoring daemon. Runs launched elsewhere (another host, another launcher: no worker
  tags) cannot be checked from here: they report RUNNING with a message saying so, so that run
  monitoring leaves them alone (UNKNOWN would make it fail them).
- `terminate` sends the worker SIGINT, which Dagster's run worker turns into a canceled run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

import psutil
from dagster import Array, Field, String
from dagster._core.launcher.base import (
    CheckRunHealthResult,
    LaunchRunContext,
    RunLauncher,
    WorkerStatus,
)
from dagster._core.storage.dagster_run import DagsterRun
from dagster._serdes import ConfigurableClass, serialize_value
from dagster._serdes.config_class import ConfigurableClassData

WORKER_PID_TAG = "fin/run_worker_pid"
WORKER_STARTED_TAG = "fin/run_worker_started"
WORKER_HOST_TAG = "fin/run_worker_host"
DEFAULT_PRELOAD_MODULES = ("fin_assets.definitions:prepare_run_workers",)
READY_TIMEOUT_SECONDS = 300
POLL_SECONDS = 0.05


class ForkServerError(RuntimeError):
    """The fork server did not start or did not answer."""


def worker_alive(pid: int, started: float) -> bool:
    """Whether the process `pid` created at `started` still runs (a zombie has exited)."""
    try:
        process = psutil.Process(pid)
        return process.create_time() == started and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class ForkServer:
    """A fork server process (fin_assets.fork_server) and requests to it."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.folder = tempfile.mkdtemp(prefix="fin-fork-")
        self.socket_path = os.path.join(self.folder, "socket")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fin_assets.fork_server", self.socket_path, *modules]
        )
        began = time.monotonic()
        while not self._answers():
            if self.process.poll() is not None:
                raise ForkServerError(f"the fork server exited ({self.process.returncode})")
            if time.monotonic() - began > READY_TIMEOUT_SECONDS:
                self.stop()
                raise ForkServerError(f"the fork server not ready in {READY_TIMEOUT_SECONDS} s")
            time.sleep(POLL_SECONDS)

    def _answers(self) -> bool:
        try:
            return "pid" in self.request({"ping": True})
        except OSError:
            return False

    def request(self, message: Mapping[str, Any]) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(self.socket_path)
            connection.sendall(json.dumps(message).encode() + b"\n")
            line = connection.makefile("rb").readline()
        if not line:
            raise ConnectionError("the fork server closed the connection without answering")
        return json.loads(line)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the server (its running workers go on); remove its socket."""
        with suppress(ProcessLookupError):
            self.process.terminate()
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        with suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        with suppress(OSError):
            os.rmdir(self.folder)


class ForkServerRunLauncher(RunLauncher, ConfigurableClass):
    """Launches each run as a child forked from a process that has imported the code location.

    Config: `preload_modules`, what the fork server imports before forking: modules, or
    `module:function` to also call a preparation (default
    `fin_assets.definitions:prepare_run_workers`; a run of another code location imports its own
    in its worker).
    """

    def __init__(
        self,
        inst_data: ConfigurableClassData | None = None,
        preload_modules: Sequence[str] = DEFAULT_PRELOAD_MODULES,
    ) -> None:
        self._inst_data = inst_data
        self._modules = tuple(preload_modules)
        self._server: ForkServer | None = None
        self._lock = threading.Lock()
        self._run_ids: set[str] = set()
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict:
        return {
            "preload_modules": Field(
                Array(String), is_required=False, default_value=list(DEFAULT_PRELOAD_MODULES)
            )
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> ForkServerRunLauncher:
        return cls(inst_data=inst_data, preload_modules=config_value["preload_modules"])

    def _fork(self, run_id: str) -> dict[str, Any]:
        """Have the fork server fork the run's worker (starting or restarting the server)."""
        message = {"run_id": run_id, "instance_ref": serialize_value(self._instance.get_ref())}
        with self._lock:
            for _attempt in range(2):
                if self._server is None or not self._server.alive():
                    self._server = ForkServer(self._modules)
                    # Stopped with the launcher at the latest (an instance not disposed).
                    weakref.finalize(self, self._server.stop)
                try:
                    reply = self._server.request(message)
                except OSError:
                    reply = {"stale": True}  # died between the check and the request
                if not reply.get("stale"):
                    return reply
                self._server.stop()
                self._server = None
        raise ForkServerError("a freshly started fork server could not fork the run's worker")

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        reply = self._fork(run.run_id)
        self._instance.add_run_tags(
            run.run_id,
            {
                WORKER_PID_TAG: str(reply["pid"]),
                WORKER_STARTED_TAG: repr(reply["started"]),
                WORKER_HOST_TAG: socket.gethostname(),
            },
        )
        self._instance.report_engine_event(
            f"Forked the run worker (pid {reply['pid']}) from the fork server "
            f"(pid {self._server.process.pid if self._server else '?'}).",
            run,
            cls=self.__class__,
        )
        self._run_ids.add(run.run_id)

    def _worker(self, run: DagsterRun) -> tuple[int, float] | None:
        """The run's worker process on this host, if this launcher kind launched it here."""
        tags = run.tags
        if WORKER_PID_TAG not in tags or tags.get(WORKER_HOST_TAG) != socket.gethostname():
            return None
        return int(tags[WORKER_PID_TAG]), float(tags[WORKER_STARTED_TAG])

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        worker = self._worker(run)
        if worker is None:
            return CheckRunHealthResult(
                WorkerStatus.RUNNING, "not forked on this host by the fork server: not checked"
            )
        pid, started = worker
        if worker_alive(pid, started):
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        current = self._instance.get_run_by_id(run.run_id)
        if current is not None and current.is_finished:
            return CheckRunHealthResult(WorkerStatus.SUCCESS)
        return CheckRunHealthResult(
            WorkerStatus.FAILED, f"the run worker (pid {pid}) exited without finishing the run"
        )

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        worker = self._worker(run)
        if worker is None or not worker_alive(*worker):
            return False
        self._instance.report_run_canceling(run)
        with suppress(ProcessLookupError):
            os.kill(worker[0], signal.SIGINT)
        return True

    def join(self, timeout: int = 30) -> None:
        """Wait up to `timeout` seconds for the runs launched here to finish."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = [self._instance.get_run_by_id(run_id) for run_id in self._run_ids]
            if all(run is None or run.is_finished for run in runs):
                return
            time.sleep(POLL_SECONDS)

    def dispose(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.stop()
                self._server = None
