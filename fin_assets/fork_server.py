"""A fork server: one process that has imported the code location, forking a run worker per run.

`dagster api execute_run` (Dagster's default run worker) is a fresh interpreter that imports
Dagster and the code location before the run's first step: 3 to 4 s of CPU, 9 to 30 s of wall
time on a loaded 2-core machine, paid by every landing run. This process pays it once: it
imports the modules it is started with and Dagster's run-execution code, and calls the
preparation a target names (`module:function`: `fin_assets.definitions:prepare_run_workers`
builds the definitions, reading the universe file, and the universe's exchange calendars, which
each worker would otherwise build first), then serves a Unix socket. For each request it
forks; the child is the run worker: it executes the run exactly as `dagster api execute_run`
does (Dagster's `_execute_run_command_body`: the run's own instance, its job reconstructed from
the run's code origin, which is already imported) and exits with the status that command
would.

Fork safety: the server forks from its main thread and refuses to serve if importing or the
preparation started any other Python thread (a forked child would inherit locks held by threads
that do not exist in it); it opens no database connection or client before forking — every
child makes its own. The native threads that importing starts (OpenBLAS's pool with numpy,
jemalloc's background thread with pyarrow) belong to libraries that register fork handlers
(`pthread_atfork`), as multiprocessing's fork start method relies on.

Staleness: the server notes the modification times of the imported source files of the
preloaded modules' packages; when one has changed, it answers `stale` and exits, and the
launcher (fin_assets.run_launcher) starts a fresh server, so an edited code location never
runs old code.

Protocol: one JSON line per connection. `{"ping": true}` → `{"pid": <server pid>}`;
`{"run_id": ..., "instance_ref": <serialized InstanceRef>}` → `{"pid": <worker pid>,
"started": <the worker's process creation time, psutil's>}` or `{"stale": true}`.

    python -m fin_assets.fork_server SOCKET_PATH TARGET...   (TARGET: module or module:function)
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import signal
import socket
import sys
import threading
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from dagster import DagsterInstance

# Dagster's run-execution modules, imported before serving so that no child imports them.
RUN_WORKER_MODULES = (
    "dagster._cli.api",
    "dagster._cli.utils",
    "dagster._core.execution.api",
    "dagster._core.instance",
    "dagster._utils.interrupts",
    "dagster_postgres",
)
REQUEST_LIMIT_BYTES = 1 << 20
# A run worker holds one instance for its whole run, so its storages keep their Postgres
# connections in a pool (what Dagster's webserver does: `optimize_for_webserver`) instead of
# Dagster's default elsewhere, a new connection for every event written and every query: 770
# connections, a fifth of the time of a 10-symbol landing run. No statement timeout (the queries
# are Dagster's own); connections recycled hourly; up to 1 + overflow at once per worker.
WORKER_POOL_RECYCLE_SECONDS = 3600
WORKER_POOL_MAX_OVERFLOW = 4
# How often the server looks whether the process that started it is gone (then it exits too;
# its running workers go on).
PARENT_CHECK_SECONDS = 1.0


def package_sources(modules: list[str]) -> dict[str, float]:
    """Modification time of every imported source file under the packages of `modules`."""
    roots = tuple(
        str(Path(sys.modules[name.split(".")[0]].__file__ or "").parent) + os.sep
        for name in modules
    )
    return {
        module.__file__: os.stat(module.__file__).st_mtime
        for module in list(sys.modules.values())
        if getattr(module, "__file__", None) and module.__file__.startswith(roots)
    }


def sources_changed(sources: dict[str, float]) -> bool:
    for path, mtime in sources.items():
        try:
            if os.stat(path).st_mtime != mtime:
                return True
        except FileNotFoundError:
            return True
    return False


def reap_children(_signum: int, _frame: Any) -> None:
    """SIGCHLD: collect every exited worker, so that none stays a zombie."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run_worker(request: dict[str, Any]) -> int:
    """The forked child: execute the run as `dagster api execute_run` does; its exit code."""
    from dagster._cli.api import _execute_run_command_body
    from dagster._cli.utils import get_instance_for_cli
    from dagster._core.instance.ref import InstanceRef
    from dagster._serdes import deserialize_value
    from dagster._utils.interrupts import capture_interrupts

    instance_ref = deserialize_value(request["instance_ref"], InstanceRef)
    with capture_interrupts(), get_instance_for_cli(instance_ref=instance_ref) as instance:
        keep_connections(instance)
        return _execute_run_command_body(
            request["run_id"], instance, lambda _event: None, set_exit_code_on_failure=False
        )


def keep_connections(instance: DagsterInstance) -> None:
    """Pool the Postgres connections of `instance`'s storages for the run (see
    WORKER_POOL_RECYCLE_SECONDS); storages without a connection pool (SQLite) are unchanged."""
    instance.optimize_for_webserver(
        statement_timeout=0,
        pool_recycle=WORKER_POOL_RECYCLE_SECONDS,
        max_overflow=WORKER_POOL_MAX_OVERFLOW,
    )


def fork_worker(server: socket.socket, connection: socket.socket, request: dict) -> dict:
    """Fork the run worker of `request`; the reply naming it. The child never returns."""
    # SIGCHLD is held until the child's creation time is read, so that it cannot be reaped first.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            server.close()
            connection.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
            code = run_worker(request)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    try:
        started = psutil.Process(pid).create_time()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    return {"pid": pid, "started": started}


def preload(targets: list[str]) -> list[str]:
    """Import the module of each target (`module` or `module:function`) and the run worker's
    code, then call each target's function; the modules' names."""
    modules = [target.partition(":")[0] for target in targets]
    for name in (*modules, *RUN_WORKER_MODULES):
        importlib.import_module(name)
    for target in targets:
        module, _, function = target.partition(":")
        if function:
            getattr(sys.modules[module], function)()
    return modules


def serve(socket_path: str, targets: list[str]) -> None:
    """Preload `targets`, then fork a worker per request until the process that started the
    server exits or a source file changes."""
    modules = preload(targets)
    if threading.active_count() != 1:
        names = ", ".join(thread.name for thread in threading.enumerate())
        raise RuntimeError(f"preloading {targets} started threads ({names}): forking is unsafe")
    sources = package_sources(modules)
    # The preloaded objects move to the permanent generation: a child's garbage collections do
    # not walk them (nor touch their pages, which would copy them from the server).
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGCHLD, reap_children)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(64)
    server.settimeout(PARENT_CHECK_SECONDS)
    parent = os.getppid()
    while os.getppid() == parent:
        try:
            connection, _ = server.accept()
        except TimeoutError:
            continue
        with connection:
            request = json.loads(connection.makefile("rb").readline(REQUEST_LIMIT_BYTES))
            if request.get("ping"):
                reply: dict[str, Any] = {"pid": os.getpid()}
            elif sources_changed(sources):
                connection.sendall(b'{"stale": true}\n')
                return
            else:
                reply = fork_worker(server, connection, request)
            connection.sendall(json.dumps(reply).encode() + b"\n")


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
