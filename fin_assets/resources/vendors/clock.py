"""The clock vendor clients read and sleep on, injectable so tests never really sleep."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Wall time for rate limiting and lineage, and sleeping."""

    def now(self) -> datetime:
        """The current time, tz-aware UTC."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: datetime.now(UTC), time.sleep."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
