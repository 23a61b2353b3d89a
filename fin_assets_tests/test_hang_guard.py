"""A hung test ends with the stacks of the processes it started (fin_assets_tests/hang_guard.py)."""

import subprocess
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).parents[1]

HUNG_TEST = """
from concurrent.futures import ProcessPoolExecutor


def spin_forever_in_a_worker() -> None:
    while True:
        pass


def test_waits_on_a_worker_that_never_returns() -> None:
    with ProcessPoolExecutor(max_workers=1) as pool:
        pool.submit(spin_forever_in_a_worker).result()
"""
CONFTEST = (
    "from fin_assets_tests.conftest import pytest_timeout_cancel_timer, pytest_timeout_set_timer\n"
)


def test_a_test_waiting_on_a_hung_worker_process_fails_with_the_worker_stack(
    tmp_path: Path,
) -> None:
    """The CI hang of issue 22: pytest-timeout's failure sent the test into ProcessPoolExecutor's
    shutdown, which joined the spinning worker again, forever."""
    (tmp_path / "test_hung.py").write_text(HUNG_TEST)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    began = time.monotonic()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "--timeout",
            "5",
            "test_hung.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPOSITORY), "PATH": str(Path(sys.executable).parent)},
        check=False,
    )
    seconds = time.monotonic() - began
    output = run.stdout + run.stderr

    assert run.returncode == 1, output
    assert "1 failed" in output, output
    assert "Timeout after 5 s" in output
    assert "spin_forever_in_a_worker" in output  # the worker's own stack, from py-spy
    assert "Killed 1 process(es)" in output
    assert seconds < 60
