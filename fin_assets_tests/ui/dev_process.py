"""`fin-assets dev` as a test starts it: in the background, talking GraphQL as the UI does.

`running_dev` starts the command with SIGINT ignored, as a shell starts a background job (the
case where `dagster dev` used to ignore SIGTERM), on free ports, its output in a log file, and
waits until the webserver answers GraphQL. `stop_dev` sends SIGTERM and measures how long the
command and every process it started take to be gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fin_assets.dev import alive, descendants
from fin_assets.settings import Settings
from fin_assets.testing.daemon import daemon_environment
from fin_assets.testing.signals import default_sigint

FIN_ASSETS = Path(sys.executable).with_name("fin-assets")
START_SECONDS = 300
STOP_SECONDS = 30


@dataclass(frozen=True)
class Dev:
    process: subprocess.Popen
    port: int
    report_port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST a query to the webserver's /graphql, as the UI does; its `data`."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", body, {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as error:  # a query the schema rejects: say why
            raise AssertionError(f"{error}: {error.read().decode()}") from error
        assert "errors" not in answer, answer["errors"]
        return answer["data"]


def _ignore_sigint() -> None:
    """Popen `preexec_fn`: SIGINT ignored, as in a shell's background job."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def running_dev(
    settings: Settings, port: int, report_port: int, log: Path, background: bool = True
) -> Iterator[Dev]:
    """`fin-assets dev --port port --report-port report_port` on the home of `settings`,
    started as a background job (SIGINT ignored) or in the foreground."""
    env = daemon_environment(settings, {})
    env.pop("FIN_REPORT_URL", None)
    settings.home.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(FIN_ASSETS), "dev", "--port", str(port), "--report-port", str(report_port)],
            env=env,
            cwd=settings.home,
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=_ignore_sigint if background else default_sigint,
        )
    dev = Dev(process, port, report_port, log)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                raise AssertionError(
                    f"fin-assets dev exited ({process.returncode}):\n{dev.log_tail()}"
                )
            try:
                dev.graphql("{ version }")
                break
            except OSError as error:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"no GraphQL in {START_SECONDS} s:\n{dev.log_tail()}"
                    ) from error
                time.sleep(1)
        yield dev
    finally:
        if process.poll() is None:
            stop_dev(dev)


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return "?"


def stop_dev(dev: Dev, signum: int = signal.SIGTERM) -> tuple[float, list[str]]:
    """`signum` to the command; the seconds until it and all its processes are gone, and the
    command lines of those still alive after STOP_SECONDS (then killed)."""
    started = descendants(dev.process.pid)
    began = time.monotonic()
    dev.process.send_signal(signum)
    deadline = began + STOP_SECONDS
    while time.monotonic() < deadline and (
        dev.process.poll() is None or any(alive(pid) for pid in started)
    ):
        time.sleep(0.2)
    seconds = time.monotonic() - began
    left = [pid for pid in [dev.process.pid, *started] if alive(pid)]
    survivors = [_command_line(pid) for pid in left]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    dev.process.wait()
    return seconds, survivors
