"""Shared fixtures: a throw-away FIN_HOME with its own Postgres database for the instance.

The throw-away databases live on an embedded PostgreSQL server of the test process (the one
fin_assets runs for a FIN_HOME: fin_assets.instance_database) in a temporary folder, started on
first use and stopped and deleted when the session ends, so the suite needs no Postgres server on
the machine; each pytest-xdist worker has its own. FIN_TEST_PG_URL (e.g.
postgresql://postgres@127.0.0.1:5432) puts them on an external server instead.
"""

import atexit
import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fin_assets.instance_database import (
    database_url,
    drop_postgres_database,
    ensure_postgres_database,
    join_embedded_server,
    leave_embedded_server,
)
from fin_assets.settings import Settings
from fin_assets_tests.hang_guard import HangGuard

EXTERNAL_SERVER_VARIABLE = "FIN_TEST_PG_URL"
# The FIN_HOMEs of this process's embedded test servers (one at most).
_embedded_homes: list[Path] = []

# Per-test limit of the slow suites (the default tests have pyproject's `timeout`): the daemon end
# to end test may wait up to 15 minutes for one of its stages.
SLOW_TEST_TIMEOUT_SECONDS = 1200


HANG_GUARD = pytest.StashKey[HangGuard]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TEST_TIMEOUT_SECONDS))


@functools.cache
def postgres_server() -> str:
    """URL of the server of the throw-away databases (its `postgres` database): FIN_TEST_PG_URL,
    or else this process's embedded server, started now, stopped and deleted at the end."""
    external = os.environ.get(EXTERNAL_SERVER_VARIABLE)
    if external:
        return database_url(external, "postgres")
    home = Path(tempfile.mkdtemp(prefix="fin_assets_test_pg_"))
    # Registered before joining: atexit runs the server's leave (outside pytest) first.
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    _embedded_homes.append(home)
    return database_url(join_embedded_server(home), "postgres")


def pytest_sessionfinish() -> None:
    """Stop and delete this process's embedded test server (each xdist worker has its own)."""
    for home in _embedded_homes:
        leave_embedded_server(home)
        shutil.rmtree(home, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool:
    """pytest-timeout's limit, enforced by a HangGuard (fin_assets_tests/hang_guard.py)."""
    item.stash[HANG_GUARD] = HangGuard(item, settings.timeout)
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> bool:
    guard = item.stash.get(HANG_GUARD, None)
    if guard is not None:
        guard.cancel()
    return True


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


@pytest.fixture
def fin_settings(tmp_path: Path) -> Iterator[Settings]:
    with throwaway_settings(tmp_path / "fin_home") as settings:
        yield settings


@pytest.fixture(scope="module")
def module_fin_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with throwaway_settings(tmp_path_factory.mktemp("fin_home")) as settings:
        yield settings
