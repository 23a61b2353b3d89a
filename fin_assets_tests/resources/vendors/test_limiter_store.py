"""Rate limiters of several processes sharing one store spend one budget (SQLite and Postgres).

Two spawned processes limit the same Alpha Vantage key at the free tier (5 calls a minute, 25 a
day) for ten minutes of a frozen clock that both move together: each minute both try 10 calls
at once. Sharing the store, they get 5 calls a minute together until the day's 25 are spent;
with the buckets in process memory each would get its own 25.
"""

import multiprocessing
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier

import pytest

from fin_assets.resources.vendors import alphavantage
from fin_assets.resources.vendors.errors import VendorQuotaExceeded
from fin_assets.resources.vendors.limiter_store import SqlStateStore, limiter_engine
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
    first, second = results.get(timeout=WAIT_SECONDS), results.get(timeout=WAIT_SECONDS)
    for process in processes:
        process.join(timeout=WAIT_SECONDS)
        assert process.exitcode == 0
    return [a + b for a, b in zip(first, second, strict=True)]


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
