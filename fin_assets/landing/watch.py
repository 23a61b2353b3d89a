"""How a landing sensor tick watches an unchanged landing zone: listing again for a few seconds.

Dagster's sensor daemon evaluates its sensors once per loop of 5 s (its fixed
MIN_INTERVAL_LOOP_TIME), so a file written just after a tick waited a whole loop for its run.
A tick whose first listing holds no news lists the landing zone again every `poll_seconds`
until `seconds` have passed since it began, so the tick covers most of its loop instead of an
instant of it. News is an object the cursor has not seen, or a waiting object with a new
version; waiting objects alone are no news (they are checked again at the end of every tick, as
before). Once a listing has news, the tick lists again until a listing equals the one before
(same keys, times and sizes) or the window ends: a drop of many files written one after the
other (a vendor's day, the streaming writer's flush) becomes one batch, one run, rather than
runs of whatever part of it each listing caught.

Default: 3.5 s, listing every 0.5 s; with the daemon's loop of 5 s that leaves a quiet tick
1.5 s to finish before the next loop, which skips a sensor whose tick is still running (a quiet
tick's own work besides its listings: ~0.1 s). A quiet tick costs one listing per poll (on S3,
one LIST request: ~2 a second while watching); a drop waits one poll more to be seen complete.
Set FIN_LANDING_WATCH_SECONDS to change the window; 0 lists once per tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from fin_assets.landing.cursor import LandingCursor, Tick
from fin_assets.objects.store import ObjectInfo

DEFAULT_WATCH_SECONDS = 3.5
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class LandingWatch:
    """How long a tick watches for news, and how often it lists meanwhile."""

    seconds: float = DEFAULT_WATCH_SECONDS
    poll_seconds: float = POLL_SECONDS

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> LandingWatch:
        """FIN_LANDING_WATCH_SECONDS of `environ`, else the default."""
        seconds = float(environ.get("FIN_LANDING_WATCH_SECONDS", DEFAULT_WATCH_SECONDS))
        if seconds < 0:
            raise ValueError(f"FIN_LANDING_WATCH_SECONDS must not be negative: {seconds}")
        return cls(seconds=seconds)


def has_news(cursor: LandingCursor, tick: Tick) -> bool:
    """Whether `tick` holds an object that is not one of the cursor's waiting ones unchanged."""
    return any(cursor.deferred.get(f.key) != f.etag for f in tick.new_files)


def watch_landing_zone(
    cursor: LandingCursor,
    list_objects: Callable[[], Sequence[ObjectInfo]],
    plan: Callable[[Sequence[ObjectInfo]], Tick],
    watch: LandingWatch,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Sequence[ObjectInfo], Tick]:
    """The listing the tick goes on with (module docstring) and its planned tick: the first
    with news once it stops changing, else the last of the window."""
    deadline = clock() + watch.seconds

    def polls_left() -> bool:
        return clock() + watch.poll_seconds <= deadline

    listing = list_objects()
    tick = plan(listing)
    while not has_news(cursor, tick) and polls_left():
        sleep(watch.poll_seconds)
        listing = list_objects()
        tick = plan(listing)
    if not has_news(cursor, tick):
        return listing, tick
    complete = listing
    while polls_left():
        sleep(watch.poll_seconds)
        again = list_objects()
        if _contents(again) == _contents(complete):
            break
        complete = again
    return (listing, tick) if complete is listing else (complete, plan(complete))


def _contents(listing: Sequence[ObjectInfo]) -> set[tuple[str, float, int]]:
    return {(info.key, info.last_modified.timestamp(), info.size) for info in listing}
