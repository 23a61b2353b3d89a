"""Tests of the trading calendars against known NYSE dates and hand-counted minutes."""

from __future__ import annotations

from datetime import date, timedelta

import exchange_calendars
import pandas as pd
import pytest

from fin_assets.analytics import market_calendar as mc


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 7, 3), True),  # Thursday before Independence Day
        (date(2025, 7, 4), False),  # Independence Day
        (date(2025, 7, 5), False),  # Saturday
        (date(2025, 7, 6), False),  # Sunday
        (date(2025, 12, 25), False),  # Christmas
        (date(2025, 11, 28), True),  # early close, still a session
    ],
)
def test_is_session_xnys(day: date, expected: bool) -> None:
    assert mc.is_session("XNYS", day) is expected


def test_every_day_is_a_crypto_session() -> None:
    assert mc.is_session("24/7", date(2025, 7, 4))
    assert mc.is_session("24/7", date(2025, 7, 5))


def test_sessions_in_range_is_inclusive_and_skips_the_holiday() -> None:
    assert mc.sessions_in_range("XNYS", date(2025, 7, 1), date(2025, 7, 8)) == [
        date(2025, 7, 1),
        date(2025, 7, 2),
        date(2025, 7, 3),
        date(2025, 7, 7),
        date(2025, 7, 8),
    ]
    assert mc.sessions_in_range("24/7", date(2025, 2, 27), date(2025, 3, 1)) == [
        date(2025, 2, 27),
        date(2025, 2, 28),
        date(2025, 3, 1),
    ]
    assert mc.sessions_in_range("XNYS", date(2025, 7, 5), date(2025, 7, 6)) == []


def test_sessions_in_range_accepts_the_first_calendar_day() -> None:
    # 2000-01-01 is a Saturday, before the first XNYS session (Monday 2000-01-03).
    assert mc.sessions_in_range("XNYS", date(2000, 1, 1), date(2000, 1, 4)) == [
        date(2000, 1, 3),
        date(2000, 1, 4),
    ]


def test_regular_session_minutes_across_the_dst_change() -> None:
    # Friday 2025-03-07 is EST (UTC-5); Monday 2025-03-10 is EDT (UTC-4).
    before = mc.session_minutes("XNYS", date(2025, 3, 7))
    after = mc.session_minutes("XNYS", date(2025, 3, 10))
    assert len(before) == len(after) == 390
    assert (before[0], before[-1]) == (utc("2025-03-07 14:30"), utc("2025-03-07 20:59"))
    assert (after[0], after[-1]) == (utc("2025-03-10 13:30"), utc("2025-03-10 19:59"))
    assert str(after.dtype) == "datetime64[us, UTC]"
    assert (after[1:] - after[:-1] == pd.Timedelta(minutes=1)).all()


def test_early_close_has_210_minutes() -> None:
    minutes = mc.session_minutes("XNYS", date(2025, 11, 28))  # day after Thanksgiving, EST
    assert len(minutes) == 210  # 09:30..12:59 New York
    assert (minutes[0], minutes[-1]) == (utc("2025-11-28 14:30"), utc("2025-11-28 17:59"))


def test_crypto_day_has_1440_utc_minutes() -> None:
    minutes = mc.session_minutes("24/7", date(2025, 3, 9))
    assert len(minutes) == 1440
    assert (minutes[0], minutes[-1]) == (utc("2025-03-09 00:00"), utc("2025-03-09 23:59"))


@pytest.mark.parametrize(
    ("calendar", "day"),
    [
        ("XNYS", date(2025, 3, 10)),
        ("XNYS", date(2025, 11, 28)),
        ("24/7", date(2025, 3, 9)),
        ("XHKG", date(2025, 3, 10)),  # lunch break 12:00-13:00 Hong Kong
    ],
)
def test_session_minutes_match_exchange_calendars(calendar: str, day: date) -> None:
    window = exchange_calendars.get_calendar(
        calendar, start=day - timedelta(days=7), end=day + timedelta(days=7)
    )
    reference = window.session_minutes(pd.Timestamp(day))
    got = mc.session_minutes(calendar, day)
    assert list(got) == list(reference)


def test_lunch_break_minutes_are_left_out() -> None:
    minutes = mc.session_minutes("XHKG", date(2025, 3, 10))  # 09:30-12:00, 13:00-16:00 HKT
    assert len(minutes) == 150 + 180
    assert utc("2025-03-10 03:59") in minutes
    assert utc("2025-03-10 04:00") not in minutes
    assert utc("2025-03-10 05:00") in minutes


def test_non_session_has_no_minutes() -> None:
    minutes = mc.session_minutes("XNYS", date(2025, 7, 4))
    assert len(minutes) == 0
    assert str(minutes.dtype) == "datetime64[us, UTC]"


@pytest.mark.parametrize(
    ("calendar", "day", "expected"),
    [
        ("XNYS", date(2025, 7, 7), date(2025, 7, 3)),  # Monday after the holiday weekend
        ("XNYS", date(2025, 7, 5), date(2025, 7, 3)),  # a non-session day
        ("XNYS", date(2025, 7, 3), date(2025, 7, 2)),
        ("24/7", date(2025, 3, 1), date(2025, 2, 28)),
    ],
)
def test_previous_session(calendar: str, day: date, expected: date) -> None:
    assert mc.previous_session(calendar, day) == expected


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="unknown calendar 'XXXX'"):
        mc.is_session("XXXX", date(2025, 1, 2))
    with pytest.raises(ValueError, match="outside the calendars' range"):
        mc.is_session("XNYS", date(1999, 12, 31))
    with pytest.raises(ValueError, match="outside the calendars' range"):
        mc.session_minutes("24/7", date(2036, 1, 1))
    with pytest.raises(ValueError, match="is after end"):
        mc.sessions_in_range("XNYS", date(2025, 1, 3), date(2025, 1, 2))
    with pytest.raises(ValueError, match="no session before 2000-01-03"):
        mc.previous_session("XNYS", date(2000, 1, 3))
