"""Yahoo Finance's v8 chart endpoint (`/v8/finance/chart/{ticker}`): parser and request.

The request is made by yfinance (`yahoo_client.py`: cookie and crumb handshake, browser TLS
fingerprint); the answer's bytes are the payload, parsed here. The endpoint needs no key.

Conventions of the answers:
- `timestamp` holds epoch seconds (UTC) of each bar's OPEN; `meta.exchangeTimezoneName` is the
  exchange's zone (a daily bar's timestamp is its session open, so its trade date is that
  instant's date in the exchange zone: America/New_York for AAPL, UTC for BTC-USD).
- `indicators.quote[0]` holds open/high/low/close/volume arrays; a bar whose prices are all
  null had no trades and is dropped; a partly null bar is an invalid payload.
- An empty range (weekend, holiday, before listing) is HTTP 200 with no `timestamp` and
  `"quote":[{}]`: zero bars, not an error. Unknown or delisted tickers are HTTP 404 with
  `chart.error.description` ("No data found, symbol may be delisted").
- Prices are NOT adjusted (auto_adjust=False, chosen explicitly): the bars layer stores what
  traded. Daily answers also carry `indicators.adjclose` (split- and dividend-adjusted close)
  and, with `events=div,splits,capitalGains`, `events.dividends` and `events.splits`, which the
  adjusted daily representation keeps as dividend_amount and split_coefficient
  (numerator / denominator).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from fin_assets.resources.vendors.errors import VendorBadRequest, VendorPayloadInvalid
from fin_assets.resources.vendors.http_client import VendorHttpClient, VendorResponse
from fin_assets.resources.vendors.parsing import (
    ADJUSTED_DAILY_COLUMNS,
    BAR_VALUES,
    daily_frame,
    epoch_integer,
    finite_number,
    intraday_frame,
    load_json,
    member,
)
from fin_assets.resources.vendors.rate_limit import Quota

VENDOR = "yahoo"
ENDPOINT = "v8/finance/chart"
# Yahoo publishes no quota; this is a conservative pace of our own.
DEFAULT_QUOTAS = (Quota(30, 60),)
INTRADAY_GRANULARITIES = ("1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h")
# Bars of one or more whole sessions, keyed by the date of their first session, with the
# shortest length of their period (to recognise the trailing live bar, see parse_chart_daily).
SESSION_GRANULARITIES = {
    "1d": timedelta(days=1),
    "5d": timedelta(days=5),
    "1wk": timedelta(days=7),
    "1mo": timedelta(days=28),
    "3mo": timedelta(days=89),
}


def _error_description(body: Any) -> str | None:
    """`{"chart"|"quoteSummary"|"finance": {"error": {"code", "description"}}}` as text."""
    if not isinstance(body, dict):
        return None
    for envelope in body.values():
        error = envelope.get("error") if isinstance(envelope, dict) else None
        if isinstance(error, dict):
            return f"{error.get('code')}: {error.get('description')}"
    return None


def describe_error(content: bytes) -> str:
    """The vendor's error description, or the start of the body."""
    try:
        described = _error_description(load_json(VENDOR, content))
    except VendorPayloadInvalid:
        described = None
    return described or content[:200].decode("utf-8", errors="replace")


def check_body(content: bytes) -> None:
    """A 200 answer with `chart.error` set is a bad request."""
    body = load_json(VENDOR, content)
    described = _error_description(body)
    if described is not None:
        raise VendorBadRequest(VENDOR, described)


def _result(content: bytes) -> dict[str, Any]:
    body = load_json(VENDOR, content)
    chart = member(VENDOR, body, "chart", dict)
    results = member(VENDOR, chart, "result", list)
    if len(results) != 1 or not isinstance(results[0], dict):
        raise VendorPayloadInvalid(VENDOR, f"expected one chart result, got {len(results)}")
    return results[0]


def _zone(meta: dict[str, Any]) -> ZoneInfo:
    name = member(VENDOR, meta, "exchangeTimezoneName", str)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise VendorPayloadInvalid(VENDOR, f"unknown exchange time zone {name!r}") from None


def _bars(result: dict[str, Any]) -> tuple[list[int], pd.DatetimeIndex, list[list[float]]]:
    """Positions kept, UTC bar-open times and OHLCV rows; bars without any price dropped."""
    quotes = member(VENDOR, member(VENDOR, result, "indicators", dict), "quote", list)
    if len(quotes) != 1 or not isinstance(quotes[0], dict):
        raise VendorPayloadInvalid(VENDOR, f"expected one quote object, got {len(quotes)}")
    if "timestamp" not in result:
        if quotes[0]:
            raise VendorPayloadInvalid(VENDOR, "quote arrays without timestamps")
        return [], pd.DatetimeIndex([], tz="UTC"), []
    stamps = member(VENDOR, result, "timestamp", list)
    arrays = [member(VENDOR, quotes[0], name, list) for name in BAR_VALUES]
    if any(len(array) != len(stamps) for array in arrays):
        raise VendorPayloadInvalid(VENDOR, "quote arrays and timestamps differ in length")
    kept, seconds, rows = [], [], []
    for index, stamp in enumerate(stamps):
        values = [array[index] for array in arrays]
        if all(value is None for value in values[:4]):
            continue
        kept.append(index)
        seconds.append(epoch_integer(VENDOR, stamp, "timestamp", "s"))
        rows.append([finite_number(VENDOR, v, n) for v, n in zip(values, BAR_VALUES, strict=True)])
    return kept, pd.to_datetime(seconds, unit="s", utc=True), rows


def _granularity(result: dict[str, Any]) -> str:
    return member(VENDOR, member(VENDOR, result, "meta", dict), "dataGranularity", str)


def parse_chart_intraday(content: bytes) -> pd.DataFrame:
    """An intraday chart answer as intraday bars (see parsing.py)."""
    result = _result(content)
    granularity = _granularity(result)
    if granularity not in INTRADAY_GRANULARITIES:
        raise VendorPayloadInvalid(VENDOR, f"granularity {granularity!r} is not intraday")
    _, ts, rows = _bars(result)
    return intraday_frame(VENDOR, ts, rows)


def parse_chart_daily(content: bytes) -> pd.DataFrame:
    """A daily (or weekly, monthly...) chart answer as adjusted daily bars (see parsing.py).

    trade_date is the date of the bar's first session; a dividend or split is reported on the
    bar whose first session is its ex-date (exact for 1d bars). While a period is open, Yahoo
    appends a live bar stamped `meta.regularMarketTime` inside the last period, repeating it;
    that bar is dropped.
    """
    result = _result(content)
    granularity = _granularity(result)
    if granularity not in SESSION_GRANULARITIES:
        raise VendorPayloadInvalid(VENDOR, f"granularity {granularity!r} is not daily or longer")
    meta = member(VENDOR, result, "meta", dict)
    zone = _zone(meta)
    kept, ts, rows = _bars(result)
    if len(ts) >= 2 and "regularMarketTime" in meta:
        stamp = epoch_integer(VENDOR, meta["regularMarketTime"], "regularMarketTime", "s")
        live = pd.Timestamp(stamp, unit="s", tz="UTC")
        if ts[-1] == live and ts[-1] < ts[-2] + SESSION_GRANULARITIES[granularity]:
            kept, ts, rows = kept[:-1], ts[:-1], rows[:-1]
    dates = [stamp.date() for stamp in ts.tz_convert(zone)]
    dividends = _event_values(result, "dividends", zone, _dividend_amount)
    splits = _event_values(result, "splits", zone, _split_coefficient)
    columns: dict[str, list[Any]] = {"trade_date": dates}
    for index, name in enumerate(BAR_VALUES):
        columns[name] = [row[index] for row in rows]
    columns["adjusted_close"] = _adjusted_closes(result, kept)
    columns["dividend_amount"] = [dividends.get(day, 0.0) for day in dates]
    columns["split_coefficient"] = [splits.get(day, 1.0) for day in dates]
    return daily_frame(VENDOR, columns)[list(ADJUSTED_DAILY_COLUMNS)]


def _adjusted_closes(result: dict[str, Any], kept: list[int]) -> list[float]:
    """`indicators.adjclose[0].adjclose` at the kept bar positions."""
    if not kept:
        return []
    entries = member(VENDOR, member(VENDOR, result, "indicators", dict), "adjclose", list)
    if len(entries) != 1:
        raise VendorPayloadInvalid(VENDOR, "expected one adjclose object")
    values = member(VENDOR, entries[0], "adjclose", list)
    if len(values) != len(member(VENDOR, result, "timestamp", list)):
        raise VendorPayloadInvalid(VENDOR, "adjclose and timestamps differ in length")
    return [finite_number(VENDOR, values[index], "adjclose") for index in kept]


def _dividend_amount(entry: dict[str, Any]) -> float:
    return finite_number(VENDOR, member(VENDOR, entry, "amount", (int, float)), "amount")


def _split_coefficient(entry: dict[str, Any]) -> float:
    """New shares per old share: numerator / denominator ("4:1" is 4.0)."""
    numerator = finite_number(VENDOR, member(VENDOR, entry, "numerator", (int, float)), "split")
    denominator = finite_number(VENDOR, member(VENDOR, entry, "denominator", (int, float)), "split")
    if numerator <= 0 or denominator <= 0:
        raise VendorPayloadInvalid(VENDOR, f"bad split ratio {numerator}:{denominator}")
    return numerator / denominator


def _event_values(
    result: dict[str, Any], kind: str, zone: ZoneInfo, value: Callable[[dict[str, Any]], float]
) -> dict[date, float]:
    """`events[kind]` ({epoch: {date, ...}}) as {trade date in the exchange zone: value}."""
    events = result.get("events", {})
    if not isinstance(events, dict):
        raise VendorPayloadInvalid(VENDOR, "events is not an object")
    if kind not in events:
        return {}
    values: dict[date, float] = {}
    for entry in member(VENDOR, events, kind, dict).values():
        stamp = epoch_integer(VENDOR, member(VENDOR, entry, "date", int), f"{kind} date", "s")
        values[datetime.fromtimestamp(stamp, zone).date()] = value(entry)
    return values


def chart_params(start: datetime, end: datetime, interval: str) -> dict[str, str]:
    """The chart query yfinance sends for `history(start, end, interval, prepost=False)`
    (crumb aside): lineage and replay key. yahoo_client checks every request against it."""
    return {
        "period1": str(int(start.timestamp())),
        "period2": str(int(end.timestamp())),
        "interval": interval,
        "includePrePost": "false",
        "events": "div,splits,capitalGains",
    }


def chart(
    client: VendorHttpClient, ticker: str, start: datetime, end: datetime, interval: str
) -> VendorResponse:
    """Bars of `ticker` opening in [start, end) (tz-aware), unadjusted, with dividends/splits;
    `client` is a yahoo_client.YahooChartClient (or a replaying one)."""
    return client.get(ticker, chart_params(start, end, interval), endpoint=ENDPOINT)
