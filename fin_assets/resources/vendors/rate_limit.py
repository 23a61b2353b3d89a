"""Token-bucket rate limiting per (vendor, API key), shared by every thread of a process.

Buckets are pyrate-limiter's TokenBucket (GCRA) state buckets, one rate per quota: a quota of
`limit` calls per `period_seconds` holds `limit` tokens refilled evenly over the period, so a
burst of `limit` calls is allowed and the long-run rate never exceeds the quota. A limiter
with several quotas (Alpha Vantage's 5/minute and 25/day) admits a call only when every bucket
has a token.

When a call must wait, the limiter sleeps on the injected clock if the wait is at most
`max_wait_seconds`; a longer wait (a spent daily budget) raises VendorQuotaExceeded with scope
"day" instead of sleeping for hours. Across processes (concurrent Dagster runs) the quota is
enforced by the per-vendor Dagster concurrency pool that raw_quotes runs in.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from pyrate_limiter import AbstractClock, Rate, RateItem, StateBucket, TokenBucket

from fin_assets.resources.vendors.clock import Clock, SystemClock
from fin_assets.resources.vendors.errors import VendorQuotaExceeded

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
    """pyrate-limiter's clock interface over our Clock's monotonic seconds."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> int:
        return int(self._clock.monotonic() * 1000)


class RateLimiter:
    """Token buckets for one vendor and key; `acquire()` before every HTTP call."""

    def __init__(
        self,
        vendor: str,
        quotas: tuple[Quota, ...],
        clock: Clock | None = None,
        max_wait_seconds: float = 120.0,
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
            self._bucket = StateBucket(rates, algorithm=TokenBucket(), clock=self._ms_clock)
        except ValueError:
            raise ValueError(
                f"{vendor} quotas {quotas}: periods and limits must both increase, and a longer "
                "period must not allow a faster average rate"
            ) from None
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping while needed; returns the seconds slept.

        Raises VendorQuotaExceeded(scope="day") when the wait exceeds max_wait_seconds.
        """
        slept = 0.0
        while True:
            with self._lock:
                item = RateItem(self.vendor, self._ms_clock.now())
                if self._bucket.put(item):
                    return slept
                wait = self._bucket.waiting(item) / 1000
                rate = self._bucket.failing_rate
            assert rate is not None, "a refused put always names the failing rate"
            quota = self._quota_of_rate[(rate.limit, rate.interval)]
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


_SHARED: dict[tuple[str, str, tuple[Quota, ...]], RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(vendor: str, api_key: str, quotas: tuple[Quota, ...]) -> RateLimiter:
    """The process-wide limiter of (vendor, key, quotas) on the system clock.

    Keys are identified by a SHA-256 prefix, so the registry never holds a key in clear.
    """
    key_id = hashlib.sha256(api_key.encode()).hexdigest()[:16]
    with _SHARED_LOCK:
        limiter = _SHARED.get((vendor, key_id, quotas))
        if limiter is None:
            limiter = _SHARED[(vendor, key_id, quotas)] = RateLimiter(vendor, quotas)
        return limiter
