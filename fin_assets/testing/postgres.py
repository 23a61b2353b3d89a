"""Throw-away Postgres databases for Dagster instances of tests and benchmarks.

The databases live on an embedded PostgreSQL server of the calling process (the one fin_assets
runs for a FIN_HOME: fin_assets.instance_database) in a temporary folder, started on first use
and stopped and deleted by `stop_postgres_servers` (pytest's session end) or at exit, so neither
the suite nor the benchmarks need a Postgres server on the machine; each pytest-xdist worker has
its own. FIN_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432) puts them on an external
server instead.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fin_assets.instance_database import (
    database_url,
    drop_postgres_database,
    ensure_postgres_database,
    join_embedded_server,
    leave_embedded_server,
)
from fin_assets.settings import Settings, environ

EXTERNAL_SERVER_VARIABLE = "FIN_TEST_PG_URL"
# The FIN_HOMEs of this process's embedded test servers (one at most).
_embedded_homes: list[Path] = []


@functools.cache
def postgres_server() -> str:
    """URL of the server of the throw-away databases (its `postgres` database): FIN_TEST_PG_URL,
    or else this process's embedded server, started now, stopped and deleted at the end."""
    external = environ().get(EXTERNAL_SERVER_VARIABLE)
    if external:
        return database_url(external, "postgres")
    home = Path(tempfile.mkdtemp(prefix="fin_assets_test_pg_"))
    # Registered before joining: atexit runs the server's leave (outside pytest) first.
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    _embedded_homes.append(home)
    return database_url(join_embedded_server(home), "postgres")


def stop_postgres_servers() -> None:
    """Stop and delete this process's embedded test server, if it started one."""
    for home in _embedded_homes:
        leave_embedded_server(home)
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def throwaway_settings(home: Path) -> Iterator[Settings]:
    """Settings of an empty FIN_HOME whose Dagster instance is a fresh Postgres database."""
    url = database_url(postgres_server(), f"fin_assets_test_{uuid.uuid4().hex[:12]}")
    settings = Settings.local(home, dagster_pg_url=url)
    ensure_postgres_database(settings.dagster_pg_url)
    try:
        yield settings
    finally:
        drop_postgres_database(settings.dagster_pg_url)
