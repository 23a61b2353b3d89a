"""Alpha Vantage (https://www.alphavantage.co/documentation/): payload parsers and the client.

Conventions of the API, as its real responses show (fixtures in the tests):
- Every answer is HTTP 200, errors included: a JSON object with `Error Message` (bad symbol or
  parameters: VendorBadRequest, never retried), `Note` or `Information` (throttling, see
  `notice_error`: per-minute is retried after 60 s, per-day stops) instead of data.
- Numbers are strings. JSON series are objects keyed by timestamp, newest first; CSV bodies
  (datatype=csv) are `timestamp,open,high,low,close,volume[...]` lines, newest first.
- Intraday timestamps are exchange-local wall times in the zone of `Meta Data`.`6. Time Zone`
  ("US/Eastern"); CSV bodies carry no metadata and use the same zone. Daily dates are session
  dates.
- Intraday bars are labelled by their START since the API's 2023 rework (a 2026 5-minute body
  runs 04:00..19:55 and its 16:00 bar holds the closing auction); bodies from 2020 and before
  were labelled by their END (04:01..20:00 for 1-minute bars). Parsers take `label` ("start",
  the live API, or "end" for old recordings) and always return bar-open times in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from fin_assets.resources.vendors.errors import (
    VendorBadRequest,
    VendorPayloadInvalid,
    VendorQuotaExceeded,
)
from fin_assets.resources.vendors.http_client import VendorHttpClient, VendorResponse
from fin_assets.resources.vendors.parsing import (
    ADJUSTED_DAILY_COLUMNS,
    BAR_VALUES,
    DAILY_COLUMNS,
    daily_frame,
    decode_text,
    finite_number,
    intraday_frame,
    load_json,
    member,
    parse_date,
    read_csv_rows,
)
from fin_assets.resources.vendors.rate_limit import Quota

VENDOR = "alphavantage"
BASE_URL = "https://www.alphavantage.co"
QUERY_PATH = "query"
API_KEY_PARAM = "apikey"
# Free tier since 2024: 25 requests a day; bursts above 5 a minute are throttled.
FREE_QUOTAS = (Quota(5, 60), Quota(25, 86_400))
# The zone of CSV bodies (no Meta Data), and of every JSON body's Meta Data in practice.
DEFAULT_TIME_ZONE = "US/Eastern"
PER_MINUTE_WAIT_SECONDS = 60.0
INTERVALS = {"1min": 1, "5min": 5, "15min": 15, "30min": 30, "60min": 60}
LABELS = ("start", "end")

# Intraday and unadjusted daily bodies share their columns (CSV) and entry keys (JSON).
CSV_HEADER = ("timestamp", *BAR_VALUES)
ADJUSTED_CSV_HEADER = (
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "adjusted_close",
    "volume",
    "dividend_amount",
    "split_coefficient",
)
JSON_FIELDS = ("1. open", "2. high", "3. low", "4. close", "5. volume")
ADJUSTED_JSON_FIELDS = (
    "1. open",
    "2. high",
    "3. low",
    "4. close",
    "6. volume",
    "5. adjusted close",
    "7. dividend amount",
    "8. split coefficient",
)


def notice_error(text: str) -> VendorBadRequest | VendorQuotaExceeded:
    """The error an HTTP-200 `Note`/`Information` text stands for.

    Premium-only endpoints are bad requests (a plan problem, never retried). A text naming a
    daily limit ("25 requests per day") and no per-minute one is the daily quota: stop. Every
    other notice ("5 calls per minute and 500 calls per day", "higher API call volume",
    "spreading out your free API requests") is the burst throttle: wait a minute and retry.
    """
    lower = text.lower()
    if "premium endpoint" in lower:
        return VendorBadRequest(VENDOR, text)
    daily = "per day" in lower or "/day" in lower
    if daily and "minute" not in lower:
        return VendorQuotaExceeded(VENDOR, text, scope="day")
    return VendorQuotaExceeded(
        VENDOR, text, scope="minute", retry_after_seconds=PER_MINUTE_WAIT_SECONDS
    )


def check_body(content: bytes) -> None:
    """Raise the typed error of an HTTP-200 error body; data bodies pass."""
    text = decode_text(VENDOR, content).lstrip()
    if not text.startswith("{"):
        return  # CSV data
    body = load_json(VENDOR, content)
    if not isinstance(body, dict):
        raise VendorPayloadInvalid(VENDOR, f"JSON body is a {type(body).__name__}, not an object")
    if "Error Message" in body:
        raise VendorBadRequest(VENDOR, str(body["Error Message"]))
    for key in ("Note", "Information"):
        if key in body and not any(name.startswith("Time Series") for name in body):
            raise notice_error(str(body[key]))


def describe_error(content: bytes) -> str:
    """The start of an error body (Alpha Vantage sends no non-200 bodies of its own)."""
    return content[:200].decode("utf-8", errors="replace")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise VendorPayloadInvalid(VENDOR, f"unknown time zone {name!r}") from None


def _bar_open_utc(
    local: Iterable[str], zone: ZoneInfo, label: str, minutes: int
) -> pd.DatetimeIndex:
    """UTC bar-open times of exchange-local "YYYY-MM-DD HH:MM:SS" labels."""
    if label not in LABELS:
        raise ValueError(f"label must be one of {LABELS}, got {label!r}")
    try:
        naive = pd.DatetimeIndex(pd.to_datetime(list(local), format="%Y-%m-%d %H:%M:%S"))
    except (ValueError, TypeError) as error:
        raise VendorPayloadInvalid(VENDOR, f"bad intraday timestamps: {error}") from None
    # Local times skipped or repeated by a DST change name no single instant (and no exchange
    # trades then): they make the payload invalid rather than being guessed.
    aware = naive.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    if aware.isna().any():
        unclear = naive[aware.isna()][0]
        raise VendorPayloadInvalid(
            VENDOR, f"local time {unclear} is ambiguous or skipped in {zone}"
        )
    if label == "end":
        aware = aware - pd.Timedelta(minutes=minutes)
    return aware.tz_convert("UTC")


def _series(vendor_body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Meta Data, the one "Time Series (...)" object) of a JSON data body."""
    if not isinstance(vendor_body, dict):
        raise VendorPayloadInvalid(VENDOR, "JSON body is not an object")
    meta = member(VENDOR, vendor_body, "Meta Data", dict)
    names = [name for name in vendor_body if name.startswith("Time Series")]
    if len(names) != 1:
        raise VendorPayloadInvalid(VENDOR, f"expected one 'Time Series' object, found {names}")
    return meta, member(VENDOR, vendor_body, names[0], dict)


def _rows(series: dict[str, Any], fields: tuple[str, ...]) -> tuple[list[str], list[list[float]]]:
    keys, rows = [], []
    for key, entry in series.items():
        keys.append(key)
        rows.append([finite_number(VENDOR, member(VENDOR, entry, f, str), f) for f in fields])
    return keys, rows


def parse_intraday_json(content: bytes, label: str = "start") -> pd.DataFrame:
    """TIME_SERIES_INTRADAY JSON as intraday bars (see parsing.py), zone from Meta Data."""
    body = load_json(VENDOR, content)
    meta, series = _series(body)
    interval = member(VENDOR, meta, "4. Interval", str)
    if interval not in INTERVALS:
        raise VendorPayloadInvalid(VENDOR, f"unknown interval {interval!r}")
    zone = _zone(member(VENDOR, meta, "6. Time Zone", str))
    keys, rows = _rows(series, JSON_FIELDS)
    return intraday_frame(VENDOR, _bar_open_utc(keys, zone, label, INTERVALS[interval]), rows)


def parse_intraday_csv(
    content: bytes, interval: str = "1min", label: str = "start", time_zone: str = DEFAULT_TIME_ZONE
) -> pd.DataFrame:
    """TIME_SERIES_INTRADAY CSV (datatype=csv) as intraday bars; timestamps in `time_zone`."""
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {sorted(INTERVALS)}, got {interval!r}")
    rows = read_csv_rows(VENDOR, content, CSV_HEADER)
    values = [
        [finite_number(VENDOR, v, f) for v, f in zip(row[1:], BAR_VALUES, strict=True)]
        for row in rows
    ]
    ts = _bar_open_utc((row[0] for row in rows), _zone(time_zone), label, INTERVALS[interval])
    return intraday_frame(VENDOR, ts, values)


def parse_daily_json(content: bytes) -> pd.DataFrame:
    """TIME_SERIES_DAILY or _ADJUSTED JSON as daily bars (adjusted columns when present)."""
    _, series = _series(load_json(VENDOR, content))
    first = next(iter(series.values()), {})
    adjusted = isinstance(first, dict) and "5. adjusted close" in first
    fields = ADJUSTED_JSON_FIELDS if adjusted else JSON_FIELDS
    columns = ADJUSTED_DAILY_COLUMNS if adjusted else DAILY_COLUMNS
    keys, rows = _rows(series, fields)
    return _daily(keys, rows, columns)


def parse_daily_csv(content: bytes) -> pd.DataFrame:
    """TIME_SERIES_DAILY or _ADJUSTED CSV as daily bars (adjusted columns when present)."""
    header = decode_text(VENDOR, content).split("\n", 1)[0].strip()
    adjusted = header == ",".join(ADJUSTED_CSV_HEADER)
    csv_header = ADJUSTED_CSV_HEADER if adjusted else CSV_HEADER
    columns = ADJUSTED_DAILY_COLUMNS if adjusted else DAILY_COLUMNS
    rows = read_csv_rows(VENDOR, content, csv_header)
    # The CSV names its columns like the frame, in another order (volume after adjusted_close).
    order = [csv_header.index(name) for name in columns[1:]]
    values = [[finite_number(VENDOR, row[i], csv_header[i]) for i in order] for row in rows]
    return _daily([row[0] for row in rows], values, columns)


def _daily(keys: list[str], rows: list[list[float]], columns: tuple[str, ...]) -> pd.DataFrame:
    data: dict[str, list[Any]] = {"trade_date": [parse_date(VENDOR, key) for key in keys]}
    for index, name in enumerate(columns[1:]):
        data[name] = [row[index] for row in rows]
    return daily_frame(VENDOR, data)


def decode_intraday(content: bytes) -> pd.DataFrame:
    """The raw layer's decoder: a stored intraday body (CSV or JSON) of the live API."""
    if decode_text(VENDOR, content).lstrip().startswith("{"):
        return parse_intraday_json(content)
    return parse_intraday_csv(content)


def csv_rows_of_date(content: bytes, day: date) -> bytes:
    """The header and the data lines of `day` of an intraday CSV body, bytes unchanged.

    A month of bars comes in one response; the raw layer keeps each session's lines as
    received (in the response's order and line endings) under that session's partition.
    """
    lines = content.splitlines(keepends=True)
    if not lines:
        raise VendorPayloadInvalid(VENDOR, "empty CSV body")
    prefix = day.isoformat().encode()
    return b"".join([lines[0], *(line for line in lines[1:] if line.startswith(prefix))])


def intraday_params(
    symbol: str, month: str, interval: str, extended_hours: bool, datatype: str
) -> dict[str, str]:
    """TIME_SERIES_INTRADAY query for one month of history (outputsize=full)."""
    return {
        "function": "TIME_SERIES_INTRADAY",
        "symbol": symbol,
        "interval": interval,
        "month": month,
        "outputsize": "full",
        "extended_hours": "true" if extended_hours else "false",
        "adjusted": "false",
        "datatype": datatype,
    }


def daily_params(symbol: str, adjusted: bool, full: bool, datatype: str) -> dict[str, str]:
    """TIME_SERIES_DAILY(_ADJUSTED) query (compact: the latest 100 sessions; full: 20+ years)."""
    return {
        "function": "TIME_SERIES_DAILY_ADJUSTED" if adjusted else "TIME_SERIES_DAILY",
        "symbol": symbol,
        "outputsize": "full" if full else "compact",
        "datatype": datatype,
    }


def query(client: VendorHttpClient, api_key: str, params: dict[str, str]) -> VendorResponse:
    """One /query call; the key is sent but kept out of the lineage params."""
    return client.get(QUERY_PATH, {**params, API_KEY_PARAM: api_key}, endpoint=params["function"])
