"""Rate limiters of several processes sharing one store spend one budget (SQLite and Postgres).

Two spawned processes limit the same Alpha Vantage key at the free tier (5 calls a minute, 25 a
day) for ten minutes of a frozen clock that both move together: each minute both try 10 calls
at once. Sharing the store, they get 5 calls a minute together until the day's 25 are spent;
with the buckets in process memory each would get its own 25.
"""

import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier

import pytest
from sqlalchemy import Engine, create_engine, text

from fin_assets.resources.vendors import alphavantage, attempt_budget
from fin_assets.resources.vendors.attempt_budget import SqlAttemptStore
from fin_assets.resources.vendors.errors import VendorQuotaExceeded
from fin_assets.resources.vendors.limiter_store import (
    EVENTS_TABLE,
    TABLE,
    SqlStateStore,
    _create_table,
    limiter_engine,
)
from fin_assets.resources.vendors.rate_limit import RateLimiter, store_key
from fin_assets.settings import Settings

T0 = datetime(2026, 5, 15, 12, tzinfo=UTC)
MINUTES = 10
ATTEMPTS_PER_MINUTE = 10
# Generous: a spawned process imports the package first, which takes long on a loaded machine.
WAIT_SECONDS = 600
KEY = store_key("alphavantage", "0123456789abcdef", alphavantage.FREE_QUOTAS)


class FrozenClock:
    """Wall time set by the test; sleeping is a test failure."""

    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        raise AssertionError(f"the limiter slept {seconds} s")


def _limiter(store_url: str, clock: FrozenClock) -> RateLimiter:
    """The free-tier limiter of KEY, never waiting (a refused call raises)."""
    store = SqlStateStore(limiter_engine(store_url), KEY) if store_url else None
    return RateLimiter(
        "alphavantage", alphavantage.FREE_QUOTAS, clock=clock, max_wait_seconds=0, store=store
    )


def _admitted(limiter: RateLimiter, attempts: int) -> int:
    admitted = 0
    for _ in range(attempts):
        try:
            limiter.acquire()
        except VendorQuotaExceeded:
            continue
        admitted += 1
    return admitted


def _take_tokens(
    store_url: str, barrier: Barrier, results: "multiprocessing.Queue[list[int]]"
) -> None:
    """One process: ten minutes of ATTEMPTS_PER_MINUTE calls, in step with the other."""
    clock = FrozenClock()
    limiter = _limiter(store_url, clock)
    per_minute = []
    for minute in range(MINUTES):
        clock.at = T0 + timedelta(minutes=minute)
        barrier.wait(timeout=WAIT_SECONDS)
        per_minute.append(_admitted(limiter, ATTEMPTS_PER_MINUTE))
        barrier.wait(timeout=WAIT_SECONDS)
    results.put(per_minute)


def _run_two_processes(store_url: str) -> list[int]:
    """Calls admitted per minute to both processes together."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    processes = [
        context.Process(target=_take_tokens, args=(store_url, barrier, results)) for _ in range(2)
    ]
    for process in processes:
        process.start()
    first, second = _result(results, processes), _result(results, processes)
    for process in processes:
        process.join(timeout=WAIT_SECONDS)
        assert process.exitcode == 0
    return [a + b for a, b in zip(first, second, strict=True)]


def _result(
    results: "multiprocessing.Queue[list[int]]", processes: list[multiprocessing.Process]
) -> list[int]:
    """The next process's result; fails at once when a process died without one."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            return results.get(timeout=1)
        except queue.Empty:
            failed = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            assert not failed, f"a limiter process failed (exit codes {failed})"
    raise AssertionError(f"no result within {WAIT_SECONDS} s")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'fin_home' / 'vendor_limiter.sqlite'}"


def test_two_processes_sharing_a_sqlite_store_spend_one_budget(sqlite_url: str) -> None:
    assert _run_two_processes(sqlite_url) == [5, 5, 5, 5, 5, 0, 0, 0, 0, 0]


def test_two_processes_sharing_postgres_spend_one_budget(fin_settings: Settings) -> None:
    assert _run_two_processes(fin_settings.dagster_pg_url) == [5, 5, 5, 5, 5, 0, 0, 0, 0, 0]


def test_in_memory_buckets_would_each_spend_a_full_budget() -> None:
    assert _run_two_processes("") == [10, 10, 10, 10, 10, 0, 0, 0, 0, 0]


def test_a_later_limiter_finds_the_day_spent(sqlite_url: str) -> None:
    clock = FrozenClock()
    for minute in range(5):
        clock.at = T0 + timedelta(minutes=minute)
        assert _admitted(_limiter(sqlite_url, clock), ATTEMPTS_PER_MINUTE) == 5
    # A run half an hour later: a new limiter over the same store finds the day's budget spent.
    clock.at = T0 + timedelta(minutes=30)
    with pytest.raises(VendorQuotaExceeded) as raised:
        _limiter(sqlite_url, clock).acquire()
    assert raised.value.scope == "day"
    # The daily bucket refills one token every 86400 / 25 = 3456 s after its burst of 25.
    assert raised.value.retry_after_seconds == 3_456 - 30 * 60


@pytest.mark.parametrize(
    ("create", "tables"),
    [
        (_create_table, f"{TABLE}, {EVENTS_TABLE}"),
        (SqlAttemptStore, attempt_budget.TABLE),
    ],
    ids=["limiter_tables", "attempt_table"],
)
def test_processes_creating_the_tables_at_once_all_succeed(
    fin_settings: Settings, create: Callable[[Engine], object], tables: str
) -> None:
    """Postgres's CREATE TABLE IF NOT EXISTS races between sessions ("type ... already exists"):
    eight sessions creating the store's tables at the same instant, thirty times, all succeed."""
    engines = [create_engine(fin_settings.dagster_pg_url) for _ in range(8)]
    failures: list[Exception] = []

    def create_at(engine: Engine, barrier: threading.Barrier) -> None:
        barrier.wait(timeout=60)
        try:
            create(engine)
        except Exception as error:
            failures.append(error)

    for _ in range(30):
        with engines[0].begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {tables}"))
        barrier = threading.Barrier(len(engines))
        threads = [threading.Thread(target=create_at, args=(e, barrier)) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for engine in engines:
        engine.dispose()
    assert failures == []
