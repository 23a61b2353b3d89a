"""Shared fixtures: a throw-away FIN_HOME with its own Postgres database for the instance."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fin_assets.instance import drop_postgres_database, ensure_postgres_database
from fin_assets.settings import Settings
from fin_assets_tests.hang_guard import HangGuard

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
# Per-test limit of the slow suites (the default tests have pyproject's `timeout`): the daemon end
# to end test may wait up to 15 minutes for one of its stages.
SLOW_TEST_TIMEOUT_SECONDS = 1200


HANG_GUARD = pytest.StashKey[HangGuard]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TEST_TIMEOUT_SECONDS))


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
    settings = Settings.local(
        home, dagster_pg_url=f"{POSTGRES_SERVER}/fin_assets_test_{uuid.uuid4().hex[:12]}"
    )
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
