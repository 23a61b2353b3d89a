"""Token-bucket rate limiting per (vendor, API key), shared by every thread of a process.

Buckets are pyrate-limiter's TokenBucket (GCRA) state buckets, one rate per quota: a quota of
`limit` calls per `period_seconds` holds `limit` tokens refilled evenly over the period, so a
burst of `limit` calls is allowed and the long-run rate never exceeds the quota. A limiter
with several quotas (Alpha Vantage's 5/minute and 25/day) admits a call only when every bucket
has a token.

When a call must wait, the limiter sleeps on the injected clock if the wait is at most
`max_wait_seconds`; a longer wait (a spent daily budget) raises VendorQuotaExceeded with scope
"day" instead of sleeping for hours. Times are the clock's wall time in epoch milliseconds.

Where the buckets' state lives: in the process (the default), or, with a store URL, in a table
shared by every process using that URL (limiter_store.SqlStateStore: a SQLite file under
FIN_HOME locally, the Dagster instance's Postgres in prod, chosen in resources/environments.py),
so concurrent runs and later runs of the same day spend one budget per vendor and key. On top,
raw_quotes calls each vendor from a step of that vendor's Dagster concurrency pool
(fin_assets.defs.ingest.raw_quotes), so concurrent runs take turns per vendor.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from pyrate_limiter import (
    AbstractClock,
    InMemoryStateStore,
    Rate,
    RateItem,
    StateBucket,
    StateStore,
    TokenBucket,
)

from fin_assets.resources.vendors.clock import Clock, SystemClock
from fin_assets.resources.vendors.errors import VendorQuotaExceeded
from fin_assets.resources.vendors.limiter_store import (
    SqlStateStore,
    limiter_engine,
    record_event,
)

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Quota:
    """At most `limit` calls per `period_seconds`."""

    limit: int
    period_seconds: int

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period_seconds < 1:
            raise ValueError(f"quota needs limit >= 1 and period >= 1 s, got {self}")

    @property
    def scope(self) -> str:
        """ "day" for quotas over a day or longer, else "minute" (a short wait clears it)."""
        return "day" if self.period_seconds >= SECONDS_PER_DAY else "minute"


class _MillisecondClock(AbstractClock):
    """pyrate-limiter's clock interface over our Clock's wall time (epoch milliseconds), which
    processes sharing a store agree on."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> int:
        return int(self._clock.now().timestamp() * 1000)


class RateLimiter:
    """Token buckets for one vendor and key; `acquire()` before every HTTP call.

    `store` holds the buckets' state: the process's memory by default, or a SqlStateStore that
    processes share. `on_event` (if given) is told each "call" (a token taken), "throttle" (an
    acquire that had to wait or was refused) and, through `record_event`, each "retry" of the
    HTTP client: shared limiters count them in the store (limiter_store.record_event).
    """

    def __init__(
        self,
        vendor: str,
        quotas: tuple[Quota, ...],
        clock: Clock | None = None,
        max_wait_seconds: float = 120.0,
        store: StateStore | None = None,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        if not quotas:
            raise ValueError("a rate limiter needs at least one quota")
        self.vendor = vendor
        self.quotas = quotas
        self.max_wait_seconds = max_wait_seconds
        self._clock = clock or SystemClock()
        self._ms_clock = _MillisecondClock(self._clock)
        # pyrate-limiter reports the exhausted Rate; this maps it back to our Quota.
        self._quota_of_rate = {(q.limit, q.period_seconds * 1000): q for q in quotas}
        rates = [Rate(q.limit, q.period_seconds * 1000) for q in quotas]
        try:
            self._bucket = StateBucket(
                rates,
                algorithm=TokenBucket(),
                store=store or InMemoryStateStore(),
                clock=self._ms_clock,
            )
        except ValueError:
            raise ValueError(
                f"{vendor} quotas {quotas}: periods and limits must both increase, and a longer "
                "period must not allow a faster average rate"
            ) from None
        self._lock = threading.Lock()
        self._on_event = on_event

    def record_event(self, event: str) -> None:
        """Tell `on_event` about `event` ("call", "throttle" or "retry"), if it is set."""
        if self._on_event is not None:
            self._on_event(event)

    def acquire(self) -> float:
        """Take one token, sleeping while needed; returns the seconds slept.

        Raises VendorQuotaExceeded(scope="day") when the wait exceeds max_wait_seconds.
        """
        slept = 0.0
        throttled = False
        while True:
            with self._lock:
                item = RateItem(self.vendor, self._ms_clock.now())
                if self._bucket.put(item):
                    self.record_event("call")
                    return slept
                wait = self._bucket.waiting(item) / 1000
                rate = self._bucket.failing_rate
            assert rate is not None, "a refused put always names the failing rate"
            quota = self._quota_of_rate[(rate.limit, rate.interval)]
            if not throttled:
                throttled = True
                self.record_event("throttle")
            if wait > self.max_wait_seconds:
                raise VendorQuotaExceeded(
                    self.vendor,
                    f"local quota of {quota.limit} calls per {quota.period_seconds} s is spent; "
                    f"next call allowed in {wait:.0f} s",
                    scope=quota.scope,
                    retry_after_seconds=wait,
                )
            self._clock.sleep(wait)
            slept += wait


_SHARED: dict[tuple[str, str, tuple[Quota, ...], str], RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def store_key(vendor: str, key_id: str, quotas: tuple[Quota, ...]) -> str:
    """The shared store's key of a limiter: vendor, key id and quotas ("5/60s,25/86400s")."""
    limits = ",".join(f"{q.limit}/{q.period_seconds}s" for q in quotas)
    return f"{vendor}:{key_id}:{limits}"


def shared_limiter(
    vendor: str, api_key: str, quotas: tuple[Quota, ...], store_url: str = ""
) -> RateLimiter:
    """The process-wide limiter of (vendor, key, quotas) on the system clock.

    With `store_url` (SQLAlchemy URL) its state is in that database's shared table, so every
    process using the URL spends one budget; empty keeps it in this process. Keys are
    identified by a SHA-256 prefix, so neither the registry nor the store holds a key in clear.
    """
    key_id = hashlib.sha256(api_key.encode()).hexdigest()[:16]
    with _SHARED_LOCK:
        limiter = _SHARED.get((vendor, key_id, quotas, store_url))
        if limiter is None:
            store = on_event = None
            if store_url:
                engine = limiter_engine(store_url)
                store = SqlStateStore(engine, store_key(vendor, key_id, quotas))
                on_event = partial(record_event, engine, vendor)
            limiter = RateLimiter(vendor, quotas, store=store, on_event=on_event)
            _SHARED[(vendor, key_id, quotas, store_url)] = limiter
        return limiter
