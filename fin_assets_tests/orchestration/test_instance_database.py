"""The embedded Postgres of a FIN_HOME: no external server needed, one server per FIN_HOME, shared
by the processes of that home, stopped cleanly by the last one (fin_assets.instance_database).

Each test runs where no Postgres server is reachable through the usual settings: FIN_DAGSTER_PG_URL
and FIN_TEST_PG_URL unset, and PGHOST/PGPORT pointing at a bound port nothing listens on (the
machine's own server is left alone).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus

from fin_assets.definitions import build_definitions
from fin_assets.instance import open_instance
from fin_assets.instance_database import (
    embedded_data_folder,
    join_embedded_server,
    leave_embedded_server,
)
from fin_assets.settings import Settings

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
FIN_ASSETS = Path(sys.executable).with_name("fin-assets")
# A process of a FIN_HOME: joins its embedded server, prints the URL, leaves (exits) on a line.
MEMBER = """
import sys
from pathlib import Path
from fin_assets.instance_database import join_embedded_server
print(join_embedded_server(Path(sys.argv[1])), flush=True)
sys.stdin.readline()
"""
CLEAN_SHUTDOWN = "database system is shut down"
UNCLEAN_START = ("not properly shut down", "was interrupted", "automatic recovery in progress")


@pytest.fixture
def no_postgres_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """This process's environment (and the returned one for subprocesses) with no way to a
    Postgres server: FIN_DAGSTER_PG_URL and FIN_TEST_PG_URL unset, libpq's defaults on a port
    that refuses connections."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        monkeypatch.delenv("FIN_DAGSTER_PG_URL", raising=False)
        monkeypatch.delenv("FIN_TEST_PG_URL", raising=False)
        monkeypatch.setenv("PGHOST", "127.0.0.1")
        monkeypatch.setenv("PGPORT", str(unused.getsockname()[1]))
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(dbname="postgres", user="postgres", connect_timeout=5)
        yield dict(os.environ)


@pytest.fixture
def new_home() -> Iterator[Callable[[], Path]]:
    """Makes FIN_HOMEs outside pytest's temporary root, which every pytest session resets to
    0700 when it starts: as root, the embedded server runs as its own user, who must traverse
    the home's parents."""
    homes: list[Path] = []

    def make() -> Path:
        homes.append(Path(tempfile.mkdtemp(prefix="fin_home_")))
        return homes[-1]

    yield make
    for home in homes:
        shutil.rmtree(home, ignore_errors=True)


def postmaster_pid(home: Path) -> int | None:
    """The pid of home's running embedded server, None when none runs."""
    pid_file = embedded_data_folder(home) / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def server_log(home: Path) -> str:
    return (embedded_data_folder(home) / "log").read_text()


def assert_stopped_cleanly(home: Path) -> None:
    """No server runs, its pid file is gone and its log ends with a clean shutdown."""
    assert postmaster_pid(home) is None
    assert not (embedded_data_folder(home) / "postmaster.pid").exists()
    assert server_log(home).rstrip().endswith(CLEAN_SHUTDOWN), server_log(home)[-2000:]


def start_member(home: Path, environment: dict[str, str]) -> tuple[subprocess.Popen, str]:
    member = subprocess.Popen(
        [sys.executable, "-c", MEMBER, str(home)],
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert member.stdout is not None
    return member, member.stdout.readline().strip()


def run_ids(url: str) -> set[str]:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT run_id FROM runs")
        return {run_id for (run_id,) in cursor.fetchall()}


def test_processes_of_a_home_share_its_server_and_the_last_one_stops_it_cleanly(
    new_home: Callable[[], Path], no_postgres_server: dict[str, str]
) -> None:
    home = new_home()
    member, member_url = start_member(home, no_postgres_server)
    server = postmaster_pid(home)
    assert server is not None
    # The server listens on a Unix socket in the home's data folder, never on TCP.
    assert member_url.startswith("postgresql://postgres@/fin_assets?host=")
    assert f"host={embedded_data_folder(home.resolve())}&" in member_url

    # A second process of the home (this one) reuses the running server.
    assert join_embedded_server(home) == member_url
    assert postmaster_pid(home) == server

    # The first one leaves: the server keeps running for the second.
    member.communicate("\n", timeout=60)
    assert member.returncode == 0
    assert postmaster_pid(home) == server
    postgres_url = member_url.replace("/fin_assets?", "/postgres?")
    with psycopg2.connect(postgres_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)

    # The last one stops it: a clean shutdown, and the next start needs no recovery.
    assert leave_embedded_server(home) is True
    assert_stopped_cleanly(home)
    join_embedded_server(home)
    try:
        assert postmaster_pid(home) not in (None, server)
        restart = server_log(home).rsplit(CLEAN_SHUTDOWN, 1)[1]
        assert not any(sign in restart for sign in UNCLEAN_START), restart
    finally:
        assert leave_embedded_server(home) is True
    assert_stopped_cleanly(home)


def test_a_killed_process_does_not_keep_the_server_running(
    new_home: Callable[[], Path], no_postgres_server: dict[str, str]
) -> None:
    home = new_home()
    member, url = start_member(home, no_postgres_server)
    server = postmaster_pid(home)
    member.kill()  # SIGKILL: no exit handler runs, its lock dies with it
    member.wait(timeout=60)
    assert postmaster_pid(home) == server  # nobody stopped it

    # The next process of the home reuses it, and, being its only user, stops it on leaving.
    assert join_embedded_server(home) == url
    assert postmaster_pid(home) == server
    assert leave_embedded_server(home) is True
    assert_stopped_cleanly(home)


def test_a_stale_pid_file_naming_another_process_is_neither_reused_nor_signalled(
    new_home: Callable[[], Path], no_postgres_server: dict[str, str]
) -> None:
    """After a crash, postmaster.pid may name a pid that another process now has."""
    home = new_home()
    join_embedded_server(home)
    pid_file = embedded_data_folder(home.resolve()) / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    assert leave_embedded_server(home) is True
    with subprocess.Popen(["sleep", "600"]) as stranger:
        try:
            pid_file.write_text("\n".join([str(stranger.pid), *lines[1:]]) + "\n")
            join_embedded_server(home)  # starts a server of its own
            server = postmaster_pid(home)
            assert server not in (None, stranger.pid)
            assert leave_embedded_server(home) is True
            assert_stopped_cleanly(home)
            assert stranger.poll() is None  # never signalled
        finally:
            stranger.kill()


def test_two_fin_homes_never_see_each_others_runs(
    new_home: Callable[[], Path], no_postgres_server: dict[str, str]
) -> None:
    homes = [new_home(), new_home()]
    try:
        runs: dict[Path, str] = {}
        urls: dict[Path, str] = {}
        for home in homes:
            settings = Settings.local(home, dagster_pg_url="")  # the embedded server of `home`
            instance = open_instance(settings)
            config = yaml.safe_load((settings.dagster_home / "dagster.yaml").read_text())
            urls[home] = config["run_storage"]["config"]["postgres_url"]
            assert config["event_log_storage"]["config"]["postgres_url"] == urls[home]
            job = build_definitions(settings).resolve_job_def("reference_job")
            result = job.execute_in_process(instance=instance)
            assert result.success
            runs[home] = result.run_id
            # This instance holds its own run only, not the other home's.
            assert [run.run_id for run in instance.get_runs()] == [result.run_id]
            assert instance.get_run_by_id(result.run_id).status == DagsterRunStatus.SUCCESS
            instance.dispose()

        first, second = homes
        assert urls[first] != urls[second]
        assert postmaster_pid(first) != postmaster_pid(second)
        # Read back through each server: each database has exactly its home's run.
        assert run_ids(urls[first]) == {runs[first]}
        assert run_ids(urls[second]) == {runs[second]}
        reopened = DagsterInstance.get()  # DAGSTER_HOME is the second home's
        assert {run.run_id for run in reopened.get_runs()} == {runs[second]}
        reopened.dispose()
    finally:
        for home in homes:
            leave_embedded_server(home)
    for home in homes:
        assert_stopped_cleanly(home)


@pytest.mark.slow
def test_the_cli_runs_the_graph_with_no_postgres_server_and_stops_its_own(
    new_home: Callable[[], Path], no_postgres_server: dict[str, str]
) -> None:
    """`make demo`'s path (`fin-assets backfill` is the demo over a given range) on a machine
    whose Postgres is unreachable: the runs land in the FIN_HOME's embedded server, stopped
    cleanly when the command exits."""
    home = new_home()
    window = ["--start", "2025-01-01", "--end", "2025-01-02"]  # every symbol: the portfolio
    completed = subprocess.run(
        [str(FIN_ASSETS), "backfill", *window, "--parallel-runs", "1"],
        env={**no_postgres_server, "FIN_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert_stopped_cleanly(home)

    url = join_embedded_server(home)
    try:
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT pipeline_name, status FROM runs ORDER BY create_timestamp")
            assert cursor.fetchall() == [
                ("reference_job", "SUCCESS"),
                ("symbol_history_job", "SUCCESS"),
                ("portfolio_job", "SUCCESS"),
                ("report_job", "SUCCESS"),
            ]
    finally:
        leave_embedded_server(home)
    assert_stopped_cleanly(home)


@pytest.mark.slow
def test_the_suite_setup_needs_no_postgres_server(
    new_home: Callable[[], Path], no_postgres_server: dict[str, str]
) -> None:
    """`make test`'s fixtures (throwaway_settings) on a machine whose Postgres is unreachable: a
    test opening the instance passes on the session's embedded server, removed afterwards."""
    temporary = new_home()  # the session's TMPDIR: its server's folder is made there
    test = "fin_assets_tests/orchestration/test_pool_limits.py"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", test, "-n", "0", "-q", "-p", "no:cacheprovider"],
        env={**no_postgres_server, "TMPDIR": str(temporary)},
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "1 passed" in completed.stdout
    assert list(temporary.glob("fin_assets_test_pg_*")) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "stop_signal"), [("daemon", signal.SIGTERM), ("dev", signal.SIGINT)]
)
def test_the_dagster_services_run_on_the_embedded_server_and_stop_it(
    command: str,
    stop_signal: signal.Signals,
    new_home: Callable[[], Path],
    tmp_path: Path,
    no_postgres_server: dict[str, str],
) -> None:
    """`fin-assets daemon` and `fin-assets dev` start the FIN_HOME's server, the daemon
    heartbeats into it, and on SIGTERM or Ctrl-C (SIGINT) the service shuts down and the server
    is stopped cleanly."""
    home = new_home()
    log = tmp_path / "service.log"
    with log.open("w") as output:
        service = subprocess.Popen(
            [str(FIN_ASSETS), command],
            env={**no_postgres_server, "FIN_HOME": str(home)},
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 300
        heartbeats: dict = {}
        # Each of the daemon's threads heartbeats on its own first loop, not all at once.
        while not {"SENSOR", "SCHEDULER"} <= heartbeats.keys():
            assert service.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
            config = home / "dagster_home" / "dagster.yaml"
            if postmaster_pid(home) is not None and config.exists():
                instance = DagsterInstance.from_config(str(home / "dagster_home"))
                heartbeats = instance.get_daemon_heartbeats()
                instance.dispose()
    finally:
        service.send_signal(stop_signal)
        code = service.wait(timeout=120)
    assert code == 0, log.read_text()[-3000:]
    assert_stopped_cleanly(home)
