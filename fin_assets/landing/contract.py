"""The landing-zone key layout, where rejected files go, and the contract's errors.

Keys, relative to the lake root (docs/landing.md):

- `landing/{SYMBOL}/{YYYY-MM-DD}/{name}.{csv|json|parquet}`: bars of one trade date;
- `landing/{SYMBOL}/{YYYY-MM-DD}_{YYYY-MM-DD}/{name}.{ext}`: a date range, both ends inclusive.

SYMBOL must be in the universe, the first date on or after the partitions' first date and
`name` made of `[A-Za-z0-9_.-]`. A rejected file moves to `quarantine/{key}`, with its error
report (JSON: key, rejected_at, problems) at `quarantine/{key}.error.json`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from fin_assets.analytics.market_calendar import CALENDAR_END

LANDING_PREFIX = "landing"
QUARANTINE_PREFIX = "quarantine"
# The raw layer's vendor name of accepted landing files: raw/landing/symbol=.../trade_date=.../
LANDING_VENDOR = "landing"
MEDIA_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
KEY_LAYOUT = "landing/{SYMBOL}/{YYYY-MM-DD}[_{YYYY-MM-DD}]/{name}.{csv|json|parquet}"
_KEY = re.compile(
    rf"{LANDING_PREFIX}/(?P<symbol>[^/]+)/(?P<start>\d{{4}}-\d{{2}}-\d{{2}})"
    r"(?:_(?P<end>\d{4}-\d{2}-\d{2}))?/(?P<name>[A-Za-z0-9_.\-]+)\.(?P<format>csv|json|parquet)"
)


class LandingContractError(ValueError):
    """A landing file breaks the contract; `problems` lists every broken rule found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class LandingFileRejected(ValueError):
    """A landing file was rejected: it is in quarantine, with its error report beside it."""

    def __init__(self, key: str, problems: Sequence[str]) -> None:
        self.key = key
        self.problems = list(problems)
        super().__init__(
            f"landing file {key} rejected (moved to {quarantine_key(key)}): "
            + "; ".join(self.problems)
        )


@dataclass(frozen=True)
class LandingKey:
    """A parsed landing key: the (symbol, dates) partitions the file covers, and its format."""

    key: str
    symbol: str
    start: date
    end: date
    format: str

    @property
    def dates(self) -> tuple[date, ...]:
        """Every calendar date of the key's range, ascending."""
        days = (self.end - self.start).days
        return tuple(self.start + timedelta(days=i) for i in range(days + 1))


def parse_landing_key(key: str, symbols: Collection[str], first_date: date) -> LandingKey:
    """The key's symbol, date range and format; LandingContractError if it breaks the layout."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise LandingContractError([f"key {key!r} does not follow {KEY_LAYOUT}"])
    problems = []
    symbol = match["symbol"]
    if symbol not in symbols:
        problems.append(f"symbol {symbol!r} is not in the universe")
    try:
        start = date.fromisoformat(match["start"])
        end = date.fromisoformat(match["end"] or match["start"])
    except ValueError as error:
        problems.append(f"key {key!r} has an invalid date: {error}")
        raise LandingContractError(problems) from None
    if start > end:
        problems.append(f"date range {start}_{end} ends before it starts")
    if start < first_date or end > CALENDAR_END:
        problems.append(f"dates {start}..{end} fall outside {first_date}..{CALENDAR_END}")
    if problems:
        raise LandingContractError(problems)
    return LandingKey(key=key, symbol=symbol, start=start, end=end, format=match["format"])


def quarantine_key(key: str) -> str:
    """Where a rejected landing file is moved."""
    return f"{QUARANTINE_PREFIX}/{key}"


def error_report_key(key: str) -> str:
    """Where the error report of a rejected landing file is written."""
    return f"{QUARANTINE_PREFIX}/{key}.error.json"
