"""Shared fixtures: a throw-away FIN_HOME with its own Postgres database for the instance
(fin_assets.testing.postgres: an embedded server per test process, or FIN_TEST_PG_URL's)."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fin_assets.settings import Settings
from fin_assets.testing.postgres import stop_postgres_servers, throwaway_settings
from fin_assets_tests.hang_guard import HangGuard

# Per-test limit of the slow suites (the default tests have pyproject's `timeout`): the daemon end
# to end test may wait up to 15 minutes for one of its stages.
SLOW_TEST_TIMEOUT_SECONDS = 1200


HANG_GUARD = pytest.StashKey[HangGuard]()


def pytest_configure() -> None:
    """Landing sensor ticks evaluated in the tests list the landing zone once: a tick that finds
    nothing new returns at once instead of watching (fin_assets.landing.watch; its tests and the
    daemon's end to end test set a window of their own)."""
    os.environ["FIN_LANDING_WATCH_SECONDS"] = "0"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TEST_TIMEOUT_SECONDS))


def pytest_sessionfinish() -> None:
    """Stop and delete this process's embedded test server (each xdist worker has its own)."""
    stop_postgres_servers()


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


@pytest.fixture
def fin_settings(tmp_path: Path) -> Iterator[Settings]:
    with throwaway_settings(tmp_path / "fin_home") as settings:
        yield settings


@pytest.fixture(scope="module")
def module_fin_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with throwaway_settings(tmp_path_factory.mktemp("fin_home")) as settings:
        yield settings
