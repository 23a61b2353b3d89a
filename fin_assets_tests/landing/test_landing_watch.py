"""A landing sensor tick that finds nothing new watches the landing zone for a few seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from dagster import DagsterInstance, build_sensor_context

from fin_assets.defs.ingest.landing import landing_sensor
from fin_assets.landing.cursor import LandingCursor, SeenObject, Tick, plan_tick
from fin_assets.landing.watch import LandingWatch, watch_landing_zone
from fin_assets.objects.store import ObjectInfo
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.storage import LakeResource
from fin_assets.testing.landing_files import csv_bytes, minute_bars

OLD = "landing/AAPL/2025-01-02/old.csv"
NEW = "landing/MSFT/2025-01-02/new.csv"
LATER = "landing/NVDA/2025-01-02/later.csv"
LANDED = datetime(2026, 3, 2, 15, 0, 7, tzinfo=UTC)


class FakeClock:
    """Time that moves only when the watch sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def info(key: str) -> ObjectInfo:
    return ObjectInfo(key, LANDED, 10)


def etag_of(key: str) -> str:
    return f"etag-of-{key}"


def watch(
    cursor: LandingCursor, listings: list[list[ObjectInfo]], seconds: float
) -> tuple[Sequence[ObjectInfo], Tick, FakeClock, int]:
    """Watch `listings` (one per listing, the last repeated) with a fake clock; also how many
    listings were made."""
    clock = FakeClock()
    made = 0

    def list_objects() -> list[ObjectInfo]:
        nonlocal made
        made += 1
        return listings[min(made, len(listings)) - 1]

    listing, tick = watch_landing_zone(
        cursor,
        list_objects,
        lambda objects: plan_tick(cursor, objects, etag_of),
        LandingWatch(seconds=seconds, poll_seconds=0.5),
        clock=clock,
        sleep=clock.sleep,
    )
    return listing, tick, clock, made


def seen_cursor() -> LandingCursor:
    """A cursor that has seen OLD."""
    seen = {OLD: SeenObject(LANDED.timestamp(), 10, etag_of(OLD))}
    return LandingCursor(watermark=LANDED.timestamp(), seen=seen)


def test_a_quiet_tick_goes_on_with_a_new_file_once_the_listing_stops_changing() -> None:
    quiet = [info(OLD)]
    listing, tick, clock, made = watch(seen_cursor(), [quiet, quiet, [info(OLD), info(NEW)]], 3.0)

    assert made == 4  # the new file's listing, then one more that is the same
    assert clock.sleeps == [0.5, 0.5, 0.5]
    assert [f.key for f in tick.new_files] == [NEW]
    assert [i.key for i in listing] == [OLD, NEW]


def test_a_tick_with_a_new_file_in_its_first_listing_waits_one_poll() -> None:
    _, tick, clock, made = watch(seen_cursor(), [[info(OLD), info(NEW)]], 3.0)

    assert (made, clock.sleeps) == (2, [0.5])
    assert [f.key for f in tick.new_files] == [NEW]


def test_a_drop_still_being_written_is_taken_whole() -> None:
    first, second = [info(OLD), info(NEW)], [info(OLD), info(NEW), info(LATER)]
    listing, tick, _, made = watch(seen_cursor(), [[info(OLD)], first, second], 3.0)

    assert made == 4
    assert [f.key for f in tick.new_files] == [NEW, LATER]
    assert [i.key for i in listing] == [OLD, NEW, LATER]


def test_news_at_the_end_of_the_window_is_taken_as_it_is() -> None:
    listings = [[info(OLD)]] * 7 + [[info(OLD), info(NEW)]]
    _, tick, clock, made = watch(seen_cursor(), listings, 3.0)

    assert (made, clock.now) == (7, 3.0)
    assert tick.new_files == ()
    _, tick, clock, made = watch(seen_cursor(), [[info(OLD)]] * 6 + [[info(OLD), info(NEW)]], 3.0)
    assert (made, clock.now) == (7, 3.0)
    assert [f.key for f in tick.new_files] == [NEW]


def test_a_quiet_zone_is_listed_every_poll_until_the_window_ends() -> None:
    _, tick, clock, made = watch(seen_cursor(), [[info(OLD)]], 3.0)

    assert made == 7  # at 0, 0.5, ..., 3 s: a further poll would end after the window
    assert clock.now == 3.0
    assert tick.new_files == ()


def test_waiting_objects_alone_are_no_news_but_a_new_version_of_one_is() -> None:
    waiting = LandingCursor(
        watermark=LANDED.timestamp(), deferred={NEW: etag_of(NEW)}, reasons={NEW: "busy"}
    )
    _, tick, _, made = watch(waiting, [[info(NEW)]], 3.0)
    assert made == 7
    assert [f.key for f in tick.new_files] == [NEW]  # checked again at the end of the tick

    replaced = LandingCursor(watermark=LANDED.timestamp(), deferred={NEW: "an older etag"})
    _, _, _, made = watch(replaced, [[info(NEW)]], 3.0)
    assert made == 2


def test_a_window_of_zero_lists_once() -> None:
    _, _, clock, made = watch(seen_cursor(), [[info(OLD)]], 0.0)

    assert (made, clock.sleeps) == (1, [])


def test_the_window_comes_from_the_environment() -> None:
    assert LandingWatch.from_environment({}) == LandingWatch()
    assert LandingWatch.from_environment({"FIN_LANDING_WATCH_SECONDS": "0"}).seconds == 0
    with pytest.raises(ValueError, match="must not be negative"):
        LandingWatch.from_environment({"FIN_LANDING_WATCH_SECONDS": "-1"})


def test_the_sensor_requests_a_run_for_a_file_written_while_its_tick_watches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIN_LANDING_WATCH_SECONDS", "20")
    lake = ParquetLake(str(tmp_path))
    content = csv_bytes(minute_bars("XNYS", date(2025, 1, 2), 0, 3, 100.0))
    writer = threading.Timer(1.0, lambda: lake.put_object(NEW, content))
    context = build_sensor_context(
        resources={"lake": LakeResource(root=str(tmp_path))},
        instance=DagsterInstance.ephemeral(),
    )

    began = time.monotonic()
    writer.start()
    result = landing_sensor(context)
    took = time.monotonic() - began
    writer.join()

    assert [request.run_key.split("@")[0] for request in result.run_requests] == [NEW]
    assert 1.0 <= took < 10.0  # the file's listing, not the end of the window
