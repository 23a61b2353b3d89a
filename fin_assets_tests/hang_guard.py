"""A test past its time limit fails, with the stacks of every process it started, instead of
stalling the suite (pytest-timeout's timer hooks, set in conftest.py).

pytest-timeout alone cannot end a test whose main thread waits on a child process: its `signal`
method raises inside the test, and the test's cleanup (a `ProcessPoolExecutor` leaving its
`with` block, a fixture stopping a server) waits on the same child again. So at the limit:

1. every thread's stack of the test process is printed, then each process the test started
   (descendants created after the test began) with its Python stack (py-spy);
2. those processes are killed (SIGKILL), which ends any wait on them;
3. the test fails where it stands (SIGALRM in the main thread raises pytest's Failed);
4. should the test still not return within GRACE_SECONDS, the process exits (os._exit), which
   pytest-xdist reports as a crashed worker with the test failed, and replaces.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from types import FrameType

import psutil
import pytest
from pytest_timeout import dump_stacks

GRACE_SECONDS = 60
PY_SPY_SECONDS = 30


def started_processes(since: float) -> list[psutil.Process]:
    """This process's descendants created at or after `since` (epoch seconds)."""
    processes = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.create_time() >= since - 1:
                processes.append(child)
        except psutil.NoSuchProcess:
            continue
    return processes


def process_stack(process: psutil.Process) -> str:
    """The process's command line and, for a Python process, every thread's stack (py-spy)."""
    try:
        header = f"pid {process.pid}: {' '.join(process.cmdline())}"
    except psutil.Error as error:
        return f"pid {process.pid}: {error}"
    py_spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    try:
        dump = subprocess.run(
            [py_spy, "dump", "--pid", str(process.pid)],
            capture_output=True,
            text=True,
            timeout=PY_SPY_SECONDS,
            check=False,
        )
        return f"{header}\n{dump.stdout}{dump.stderr}"
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{header}\n(no stack: {error})"


class HangGuard:
    """The timer of one test (see the module docstring)."""

    def __init__(self, item: pytest.Item, timeout: float) -> None:
        self.item = item
        self.timeout = timeout
        self.began = time.time()
        self.finished = threading.Event()
        self.timer = threading.Thread(target=self._watch, name=f"hang guard {item.nodeid}")
        self.timer.daemon = True
        self.previous_handler = signal.signal(signal.SIGALRM, self._fail_in_main_thread)
        self.timer.start()

    def cancel(self) -> None:
        self.finished.set()
        self.timer.join()
        signal.signal(signal.SIGALRM, self.previous_handler)

    def _fail_in_main_thread(self, signum: int, frame: FrameType | None) -> None:
        __tracebackhide__ = True
        pytest.fail(f"Timeout: the test ran longer than {self.timeout:.0f} s (stacks above)")

    def _watch(self) -> None:
        if self.finished.wait(self.timeout):
            return
        terminal = self.item.config.get_terminal_writer()
        capture = self.item.config.pluginmanager.getplugin("capturemanager")
        if capture:
            capture.suspend_global_capture(self.item)
        terminal.sep("+", title=f"Timeout after {self.timeout:.0f} s: {self.item.nodeid}")
        dump_stacks(terminal)
        processes = started_processes(self.began)
        for process in processes:
            terminal.sep("~", title=f"Process started by the test: {process.pid}")
            terminal.write(process_stack(process) + "\n")
        for process in processes:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                continue
        terminal.sep("+", title=f"Killed {len(processes)} process(es); failing the test")
        terminal.flush()
        signal.pthread_kill(threading.main_thread().ident, signal.SIGALRM)
        if not self.finished.wait(GRACE_SECONDS):
            terminal.sep("+", title=f"The test did not end {GRACE_SECONDS} s later: exiting")
            terminal.flush()
            os._exit(1)
