"""The landing-zone key layout, where rejected files go, and the contract's errors.

Keys, relative to the lake root (docs/landing.md):

- `landing/{SYMBOL}/{YYYY-MM-DD}/{name}.{csv|json|parquet}`: bars of one trade date;
- `landing/{SYMBOL}/{YYYY-MM-DD}_{YYYY-MM-DD}/{name}.{ext}`: a date range, both ends inclusive.

SYMBOL must be in the universe, the first date on or after the partitions' first date and
`name` made of `[A-Za-z0-9_.-]`. A rejected file moves to `quarantine/{key}/{version}{.ext}`,
with its error report (JSON: key, rejected_at, problems, ohlc_refused_bars, ohlc_refused_ts,
...) at `quarantine/{key}/{version}.error.json`; `version` is the rejection time and the object's
version tag, so a second rejection at the same key never overwrites the first.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

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
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,16}$")
_KEY = re.compile(
    rf"{LANDING_PREFIX}/(?P<symbol>[^/]+)/(?P<start>\d{{4}}-\d{{2}}-\d{{2}})"
    r"(?:_(?P<end>\d{4}-\d{2}-\d{2}))?/(?P<name>[A-Za-z0-9_.\-]+)\.(?P<format>csv|json|parquet)"
)


class LandingContractError(ValueError):
    """A landing file breaks the contract; `problems` lists every broken rule found and
    `refused_bars` the `ts` (ISO 8601) of its bars refused by the OHLC policy's tolerance."""

    def __init__(self, problems: Sequence[str], refused_bars: Sequence[str] = ()) -> None:
        self.problems = list(problems)
        self.refused_bars = list(refused_bars)
        super().__init__("; ".join(self.problems))


class LandingFileRejected(ValueError):
    """A landing file was rejected: it is in quarantine at `quarantined_as`, with its error
    report beside it; `refused_bars` as in LandingContractError."""

    def __init__(
        self,
        key: str,
        problems: Sequence[str],
        quarantined_as: str,
        refused_bars: Sequence[str] = (),
    ) -> None:
        self.key = key
        self.problems = list(problems)
        self.quarantined_as = quarantined_as
        self.refused_bars = list(refused_bars)
        super().__init__(
            f"landing file {key} rejected (moved to {quarantined_as}): " + "; ".join(self.problems)
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


def quarantine_prefix(key: str) -> str:
    """The folder holding every quarantined version of the landing key `key`."""
    return f"{QUARANTINE_PREFIX}/{key}"


def quarantine_keys(key: str, rejected_at: datetime, etag: str) -> tuple[str, str]:
    """Where one rejected version of `key` goes, and where its error report is written.

    `{prefix}/{rejected_at:%Y%m%dT%H%M%S%fZ}-{etag[:16]}` plus the key's extension (when it has
    a plain one) for the file, `.error.json` for the report: a new folder level, so the keys
    stay as long as the landing key's own segments (a 250-character file name still fits).
    """
    version = f"{quarantine_prefix(key)}/{rejected_at:%Y%m%dT%H%M%S%fZ}-{etag[:16]}"
    extension = _EXTENSION.search(key.rsplit("/", 1)[-1])
    return version + (extension[0] if extension else ""), f"{version}.error.json"
