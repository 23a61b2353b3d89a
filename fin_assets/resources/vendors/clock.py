"""The clock vendor clients read and sleep on, injectable so tests never really sleep."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds for rate limiting, wall time for lineage, and sleeping."""

    def monotonic(self) -> float: ...

    def now(self) -> datetime:
        """The current time, tz-aware UTC."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: time.monotonic, datetime.now(UTC), time.sleep."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
