"""Trading calendars: which dates are sessions and which one-minute bars each session has.

Calendar names are exchange_calendars names ("XNYS" for US equities and ETFs, "24/7" for crypto).
A session is identified by its date in the exchange's own calendar (the UTC date for "24/7").
Every calendar covers CALENDAR_START..CALENDAR_END (queries are answered from the calendar's
session index, so any date of that range is accepted); dates outside raise ValueError.
Minutes are bar OPEN times in UTC at microsecond resolution (the lake's `ts` type): a session
opening at 09:30 and closing at 16:00 New York time has bars 09:30..15:59.

A process builds each calendar once and shares it; its lookups (pandas objects) take turns
under one lock, as threads of a process may ask at once (a landing run whose four ingest
threads asked together failed on a KeyError for a session the calendar has).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date
from functools import cache

import exchange_calendars as xcals
import pandas as pd

CALENDAR_START = date(2000, 1, 1)
CALENDAR_END = date(2035, 12, 31)
_LOOKUPS = threading.Lock()


@cache
def _calendar(name: str) -> xcals.ExchangeCalendar:
    try:
        with _LOOKUPS:
            return xcals.get_calendar(name, start=CALENDAR_START, end=CALENDAR_END)
    except xcals.errors.InvalidCalendarName:
        raise ValueError(f"unknown calendar {name!r}") from None


def load_calendars(names: Iterable[str]) -> None:
    """Build the calendars of `names` now; each is otherwise built on its first use in the
    process (0.2 to 0.3 s each)."""
    for name in names:
        _calendar(name)


def _label(day: date) -> pd.Timestamp:
    """The exchange_calendars session label of `day` (tz-naive midnight), bounds checked."""
    if not CALENDAR_START <= day <= CALENDAR_END:
        raise ValueError(
            f"date {day} is outside the calendars' range {CALENDAR_START}..{CALENDAR_END}"
        )
    return pd.Timestamp(day)


def is_session(calendar: str, day: date) -> bool:
    """Whether `day` is a trading session of `calendar` (every day is one for "24/7")."""
    label, sessions = _label(day), _calendar(calendar).sessions
    with _LOOKUPS:
        return label in sessions


def sessions_in_range(calendar: str, start: date, end: date) -> list[date]:
    """The sessions of `calendar` from start to end, both inclusive, in ascending order."""
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    sessions, first, last = _calendar(calendar).sessions, _label(start), _label(end)
    with _LOOKUPS:
        return [label.date() for label in sessions[sessions.slice_indexer(first, last)]]


def session_minutes(calendar: str, day: date) -> pd.DatetimeIndex:
    """UTC open times of every one-minute bar of the session on `day`, ascending.

    A bar opens at every minute m with open <= m < close, outside any lunch break
    [break_start, break_end): exchange_calendars' `session_minutes` with side "left", built from
    the session's open and close so that the calendar's full minute index (19 million minutes
    for "24/7") is never materialized. XNYS: 09:30..15:59 America/New_York (390 bars; 210 on
    early-close days). "24/7": 00:00..23:59 UTC (1440 bars). A day without a session gives an
    empty index. The index is tz-aware UTC with unit "us".
    """
    if not is_session(calendar, day):
        return pd.DatetimeIndex([], dtype="datetime64[us, UTC]")
    cal, label = _calendar(calendar), _label(day)
    with _LOOKUPS:
        session_open, session_close = cal.session_open_close(label)
        lunch = (
            (cal.session_break_start(label), cal.session_break_end(label))
            if cal.session_has_break(label)
            else None
        )
    minutes = pd.date_range(session_open, session_close, freq="min", inclusive="left", unit="us")
    if lunch is not None:
        minutes = minutes[~((minutes >= lunch[0]) & (minutes < lunch[1]))]
    return minutes


@cache
def session_minute_count(calendar: str, day: date) -> int:
    """How many one-minute bars the session on `day` has (0 without a session): 390 for a
    regular XNYS session, 210 on an early close, 1440 for "24/7"."""
    return len(session_minutes(calendar, day))


def previous_session(calendar: str, day: date) -> date:
    """The last session of `calendar` strictly before `day` (`day` need not be a session)."""
    sessions, label = _calendar(calendar).sessions, _label(day)
    with _LOOKUPS:
        position = sessions.searchsorted(label, side="left")
    if position == 0:
        raise ValueError(
            f"{calendar} has no session before {day} (calendars start {CALENDAR_START})"
        )
    return sessions[position - 1].date()
