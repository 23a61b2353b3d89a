"""`fin-assets dev`: the Dagster UI and daemon on this FIN_HOME, and the report site.

- `dagster dev -m fin_assets.definitions` runs as a child process in a session of its own, on
  `--host`/`--port`, at `--log-level` (default `warning`: at `info` the daemon logs every tick
  of every sensor, about 80 lines a minute).
- The report site (fin_assets.resources.report_site) serves the lake's reports on
  `--report-port` from this process, so the market report's `url` opens from the UI. The child
  processes get FIN_REPORT_URL pointing there (unless it is set), so runs link to it.
- Signals: Dagster's CLIs give SIGTERM the handler SIGINT has, and Python leaves SIGINT
  ignored when it starts ignored, as in a shell's background job, where `dagster dev` would then
  ignore SIGTERM (only SIGKILL ended it). The child gets SIGINT's default back before it
  starts; this process stops it on SIGTERM, and on SIGINT unless SIGINT was ignored at start:
  SIGTERM to `dagster dev` (which shuts its webserver and daemon down), and SIGKILL to every
  process it started (its process group and, on Linux, every descendant) if they have not all
  exited within STOP_SECONDS.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from fin_assets.instance import prepare_instance_environment
from fin_assets.resources.environments import lake_resource
from fin_assets.resources.report_site import serve_reports
from fin_assets.settings import Settings, environ

# Seconds `dagster dev` gets to stop after SIGTERM before its processes are killed: the command
# is gone well within 30 s (a loaded machine's daemon can take longer to finish its ticks).
STOP_SECONDS = 20
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


@dataclass(frozen=True)
class DevOptions:
    host: str = "127.0.0.1"
    port: int = 3000
    report_port: int = 3001
    log_level: str = "warning"


def dagster_dev_command(options: DevOptions) -> list[str]:
    """The `dagster dev` command line of the options."""
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    return [
        dagster,
        "dev",
        "-m",
        "fin_assets.definitions",
        "--host",
        options.host,
        "--port",
        str(options.port),
        "--log-level",
        options.log_level,
    ]


def report_url(options: DevOptions) -> str:
    """The report site's address as a browser on this machine reaches it."""
    host = "127.0.0.1" if options.host in ("0.0.0.0", "::", "") else options.host
    return f"http://{host}:{options.report_port}"


def _default_sigint() -> None:
    """Popen `preexec_fn`: SIGINT's default in the child, so that Dagster's SIGTERM works."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_dev(settings: Settings, options: DevOptions) -> int:
    """Run the UI, the daemon and the report site until a signal or the UI exits.

    Returns 0 after a requested stop, 2 if the report port is taken, else `dagster dev`'s exit
    status.
    """
    try:
        site = serve_reports(lake_resource(settings).get_lake(), options.host, options.report_port)
    except OSError as error:  # the port is taken: say so, without a traceback
        print(f"cannot serve the reports on {options.host}:{options.report_port}: {error.strerror}")
        return 2
    prepare_instance_environment(settings)
    env = environ()
    env.setdefault("FIN_REPORT_URL", report_url(options))
    print(
        f"Dagster UI: http://{options.host}:{options.port}  "
        f"reports: {report_url(options)}  (log level {options.log_level})",
        flush=True,
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, request_stop)
    child = subprocess.Popen(
        dagster_dev_command(options),
        env=env,
        start_new_session=True,  # its own process group, killed whole if it hangs
        preexec_fn=_default_sigint,
    )
    try:
        while child.poll() is None and not stop.wait(0.5):
            pass
        started = descendants(child.pid)
        if child.poll() is None:
            child.terminate()
        _stop_all(child, started, time.monotonic() + STOP_SECONDS)
        return 0 if stop.is_set() else child.returncode
    finally:
        site.shutdown()
        site.server_close()


def descendants(pid: int) -> set[int]:
    """Every live process descending from `pid`, read from /proc (empty where there is none)."""
    children: dict[int, list[int]] = {}
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else ():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, exited but not reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state != "Z"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop_all(child: subprocess.Popen, started: set[int], deadline: float) -> None:
    """Wait until `child`, its process group and the processes it had `started` have exited;
    SIGKILL whatever is left at `deadline`."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(timeout=max(0.0, deadline - time.monotonic()))
    while time.monotonic() < deadline and (
        _group_alive(child.pid) or any(alive(pid) for pid in started)
    ):
        time.sleep(0.2)
    if _group_alive(child.pid):
        os.killpg(child.pid, signal.SIGKILL)
    for pid in started:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    child.wait()
