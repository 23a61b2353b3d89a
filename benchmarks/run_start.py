"""Run start: seconds from a run's launch to its worker executing it, per run launcher.

Two throw-away instances side by side on the same Postgres server, the same code location
served by a code server each (as `fin-assets dev` and the daemon load it): one with the
instance's default launcher, `fork` (fin_assets.run_launcher: the worker forked from a process
that has imported the code location), the baseline with `code_server` (Dagster's
DefaultRunLauncher: the code server starts a fresh `dagster api execute_run` interpreter). Runs
of reference_job (two small steps) are launched alternately on each, one at a time, so both
launchers see the same load. For each run, from its own records: launched (RUN_STARTING) →
started (RUN_START, written by the worker once it has loaded the job and begins executing),
and started → finished. The first fork run also starts the fork server, which is not on the
hot path of later runs: it is reported apart.

    python -m benchmarks.run_start --runs 5
"""

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

from dagster import DagsterInstance
from dagster._core.workspace.context import WorkspaceProcessContext

from benchmarks.pipeline_stages import load_average, machine_description
from fin_assets.code_location import launch_run, loaded_code_location
from fin_assets.instance import prepare_instance_environment
from fin_assets.instance_database import database_url, drop_postgres_database
from fin_assets.runner import SILENT_RUN_CONFIG
from fin_assets.settings import RUN_LAUNCHERS, Settings
from fin_assets.testing.postgres import postgres_server

JOB = "reference_job"
TIMEOUT_SECONDS = 900
POLL_SECONDS = 0.1


@contextmanager
def launcher_location(
    home: Path, run_launcher: str
) -> Iterator[tuple[Settings, WorkspaceProcessContext]]:
    """A throw-away instance using `run_launcher` and its code location's code server."""
    settings = replace(
        Settings.local(
            home / run_launcher,
            database_url(postgres_server(), f"fin_assets_bench_{uuid.uuid4().hex[:12]}"),
        ),
        run_launcher=run_launcher,
    )
    settings = prepare_instance_environment(settings)
    os.environ.update(settings.environment())  # the code server's (and fork server's) FIN_*
    instance = DagsterInstance.from_config(str(settings.dagster_home))
    try:
        with loaded_code_location(instance) as process_context:
            yield settings, process_context
    finally:
        instance.dispose()
        drop_postgres_database(settings.dagster_pg_url)


def timed_run(settings: Settings, process_context: WorkspaceProcessContext) -> tuple[float, float]:
    """Launch one run; (launched → started, started → finished) seconds."""
    os.environ.update(settings.environment())
    workspace = process_context.create_request_context()
    run = launch_run(workspace, JOB, {}, SILENT_RUN_CONFIG)
    instance = workspace.instance
    began = time.monotonic()
    while not run.is_finished:
        if time.monotonic() - began > TIMEOUT_SECONDS:
            raise TimeoutError(f"run {run.run_id} of {settings.run_launcher}: {run.status}")
        time.sleep(POLL_SECONDS)
        run = instance.get_run_by_id(run.run_id)
    if not run.is_success:
        raise RuntimeError(f"run {run.run_id} of {settings.run_launcher}: {run.status}")
    stats = instance.get_run_stats(run.run_id)
    return stats.start_time - stats.launch_time, stats.end_time - stats.start_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{machine_description()}; {load_average()}")
    home = Path(tempfile.mkdtemp(prefix="fin_run_start_"))
    starts: dict[str, list[float]] = {launcher: [] for launcher in RUN_LAUNCHERS}
    steps: dict[str, list[float]] = {launcher: [] for launcher in RUN_LAUNCHERS}
    with ExitStack() as stack:
        locations = {
            launcher: stack.enter_context(launcher_location(home, launcher))
            for launcher in RUN_LAUNCHERS
        }
        # The first fork run starts the fork server (imports the code location): apart.
        first_start, _ = timed_run(*locations["fork"])
        print(f"first fork run (starts the fork server): launched → started {first_start:.2f} s")
        for number in range(args.runs):
            for launcher in RUN_LAUNCHERS:
                start, run = timed_run(*locations[launcher])
                starts[launcher].append(start)
                steps[launcher].append(run)
            print(f"run {number + 1}: {load_average()}")
        # Reported before the code servers stop (a loaded machine can make that time out).
        report(starts, steps, args.runs)


def report(starts: dict[str, list[float]], steps: dict[str, list[float]], runs: int) -> None:
    print(f"{JOB}, {runs} runs per launcher; at the end {load_average()}")
    print("| run launcher | launched → started: median / max s | started → finished: median s |")
    print("| --- | ---: | ---: |")
    for launcher in RUN_LAUNCHERS:
        print(
            f"| {launcher} | {statistics.median(starts[launcher]):.2f} / "
            f"{max(starts[launcher]):.2f} | {statistics.median(steps[launcher]):.2f} |"
        )
    ratio = statistics.median(starts["code_server"]) / statistics.median(starts["fork"])
    print(f"run start, code_server / fork: {ratio:.1f}×", flush=True)


if __name__ == "__main__":
    main()
