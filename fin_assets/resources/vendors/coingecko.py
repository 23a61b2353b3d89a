"""CoinGecko API v3 (https://docs.coingecko.com): payload parsers and requests.

Plans and keys: the demo plan uses https://api.coingecko.com/api/v3 with the header
`x-cg-demo-api-key`; paid plans use https://pro-api.coingecko.com/api/v3 with `x-cg-pro-api-key`.
The key travels in a header, never in the URL.

Conventions of the answers:
- `/coins/{id}/market_chart/range` gives `prices`, `market_caps`, `total_volumes` as
  `[epoch milliseconds UTC, value]` pairs. Granularity is automatic: 5-minutely for ranges
  within one day, hourly up to 90 days, daily beyond. `total_volumes` is a rolling 24-hour
  volume, not the volume traded in the interval.
- `/coins/{id}/ohlc` gives `[epoch ms, open, high, low, close]` candles whose timestamp is the
  candle's CLOSE (30-minute candles for 1-2 days, 4-hour for 3-30 days, 4-day beyond); there
  is no volume.
- `/coins/markets` gives one object per coin; many fields may be null.
- Errors: HTTP 429 with a `retry-after` header and `{"status": {"error_code", "error_message"}}`
  (retried after that wait); HTTP 401 with `{"error": {"status": {"error_code": 10012, ...}}}`
  for history beyond the plan's 365 days (a bad request, never retried).

Intraday bars from a market chart: each price observation becomes the bar of the minute it
fell in (ts floored to the minute), with open = high = low = close = the price and volume 0,
because CoinGecko publishes no per-interval volume. Volume 0 here means "not published", not
"nothing traded": the bar schema's volume is a required finite number (the bars layer's
non_negative_volume check and the daily aggregation reject NaN), so the flag is carried
beside the bars instead: `coingecko` is in market_data.NO_INTERVAL_VOLUME_VENDORS and
raw_quotes lists the symbols it serves in its `volume_unavailable` metadata. Daily volume and
VWAP of such bars are therefore 0 and undefined; route crypto to Yahoo for traded volume.

Why not derive a volume from `total_volumes`: it is a rolling 24-hour sum in the quote
currency, sampled at irregular instants. The difference of two consecutive samples is the
volume that entered the window minus the volume that left it 24 hours earlier, which is not
known without a per-interval history to start from (errors would then repeat every 24 h
forever); in the recorded 5-minutely chart (fixtures, 2023-03-15) 160 of the 288 differences
are negative, down to -77.7 million (quote currency).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from fin_assets.resources.vendors.errors import VendorPayloadInvalid
from fin_assets.resources.vendors.http_client import VendorHttpClient, VendorResponse
from fin_assets.resources.vendors.parsing import (
    epoch_integer,
    finite_number,
    intraday_frame,
    load_json,
    member,
)
from fin_assets.resources.vendors.rate_limit import Quota

VENDOR = "coingecko"
PLANS = ("demo", "pro")
BASE_URLS = {
    "demo": "https://api.coingecko.com/api/v3",
    "pro": "https://pro-api.coingecko.com/api/v3",
}
KEY_HEADERS = {"demo": "x-cg-demo-api-key", "pro": "x-cg-pro-api-key"}
# The demo plan's published limits: 30 calls a minute and 10,000 a month.
DEMO_QUOTAS = (Quota(30, 60), Quota(10_000, 30 * 86_400))
CHART_SERIES = ("prices", "market_caps", "total_volumes")
MARKET_NUMBERS = ("current_price", "market_cap", "total_volume", "high_24h", "low_24h")


def describe_error(content: bytes) -> str:
    """`error_code: error_message` from either error envelope, or the start of the body."""
    try:
        body = load_json(VENDOR, content)
    except VendorPayloadInvalid:
        body = None
    status = None
    if isinstance(body, dict):
        status = body.get("status")
        error = body.get("error")
        if isinstance(error, dict):
            status = error.get("status", status)
        elif isinstance(error, str):
            return error
    if isinstance(status, dict) and "error_message" in status:
        return f"error {status.get('error_code')}: {str(status['error_message']).strip()}"
    return content[:200].decode("utf-8", errors="replace")


def check_body(content: bytes) -> None:
    """CoinGecko signals errors with HTTP statuses only; 2xx bodies are data."""
    del content


def _pairs(vendor_body: Any, key: str) -> list[list[Any]]:
    pairs = member(VENDOR, vendor_body, key, list)
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) != 2:
            raise VendorPayloadInvalid(VENDOR, f"{key} holds {pair!r}, not [ms, value]")
    return pairs


def parse_market_chart(content: bytes) -> pd.DataFrame:
    """A market chart as columns ts (UTC, observation time), price, market_cap, total_volume.

    The three series must share their timestamps. Rows are sorted by ts; a duplicated ts is
    an invalid payload.
    """
    body = load_json(VENDOR, content)
    series = {key: _pairs(body, key) for key in CHART_SERIES}
    stamps = [epoch_integer(VENDOR, pair[0], "timestamp", "ms") for pair in series["prices"]]
    for key in CHART_SERIES[1:]:
        if [pair[0] for pair in series[key]] != stamps:
            raise VendorPayloadInvalid(VENDOR, f"{key} timestamps differ from prices'")
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(stamps, unit="ms", utc=True).as_unit("us"),
            **{
                name: np.asarray(
                    [finite_number(VENDOR, pair[1], name) for pair in series[key]],
                    dtype=np.float64,
                )
                for name, key in zip(
                    ("price", "market_cap", "total_volume"), CHART_SERIES, strict=True
                )
            },
        }
    )
    if frame["ts"].duplicated().any():
        raise VendorPayloadInvalid(VENDOR, "duplicated timestamps in the market chart")
    return frame.sort_values("ts", kind="stable").reset_index(drop=True)


def market_chart_bars(content: bytes) -> pd.DataFrame:
    """Intraday bars of a market chart (see the module docstring): one bar per observation."""
    chart = parse_market_chart(content)
    ts = pd.DatetimeIndex(chart["ts"]).floor("min")
    prices = chart["price"].to_numpy()
    rows = np.column_stack([prices, prices, prices, prices, np.zeros(len(prices))])
    return intraday_frame(VENDOR, ts, rows.tolist())


def parse_ohlc(content: bytes, candle_minutes: int) -> pd.DataFrame:
    """`/coins/{id}/ohlc` candles as ts (bar OPEN = close time - candle), open, high, low, close."""
    body = load_json(VENDOR, content)
    if not isinstance(body, list):
        raise VendorPayloadInvalid(VENDOR, "OHLC body is not a list")
    stamps, rows = [], []
    for candle in body:
        if not isinstance(candle, list) or len(candle) != 5:
            raise VendorPayloadInvalid(VENDOR, f"candle {candle!r} is not [ms, o, h, l, c]")
        stamps.append(epoch_integer(VENDOR, candle[0], "timestamp", "ms"))
        rows.append([finite_number(VENDOR, value, "price") for value in candle[1:]])
    close = pd.to_datetime(stamps, unit="ms", utc=True).as_unit("us")
    frame = pd.DataFrame(
        np.asarray(rows, dtype=np.float64).reshape(len(rows), 4),
        columns=["open", "high", "low", "close"],
    )
    frame.insert(0, "ts", close - pd.Timedelta(minutes=candle_minutes))
    if frame["ts"].duplicated().any():
        raise VendorPayloadInvalid(VENDOR, "duplicated candle timestamps")
    return frame.sort_values("ts", kind="stable").reset_index(drop=True)


def parse_markets(content: bytes) -> pd.DataFrame:
    """`/coins/markets` as id, symbol, name, the MARKET_NUMBERS (NaN when null), last_updated."""
    body = load_json(VENDOR, content)
    if not isinstance(body, list):
        raise VendorPayloadInvalid(VENDOR, "markets body is not a list")
    records = []
    for coin in body:
        record: dict[str, Any] = {key: member(VENDOR, coin, key, str) for key in ("id", "symbol")}
        record["name"] = member(VENDOR, coin, "name", str)
        for key in MARKET_NUMBERS:
            value = coin.get(key)
            record[key] = np.nan if value is None else finite_number(VENDOR, value, key)
        updated = coin.get("last_updated")
        record["last_updated"] = _timestamp(updated) if updated is not None else pd.NaT
        records.append(record)
    columns = ["id", "symbol", "name", *MARKET_NUMBERS, "last_updated"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame["last_updated"] = pd.to_datetime(frame["last_updated"], utc=True)
    if frame["id"].duplicated().any():
        raise VendorPayloadInvalid(VENDOR, "duplicated coin ids")
    return frame


def _timestamp(value: Any) -> pd.Timestamp:
    if not isinstance(value, str):
        raise VendorPayloadInvalid(VENDOR, f"last_updated {value!r} is not a string")
    try:
        return pd.Timestamp(value).tz_convert("UTC")
    except (ValueError, TypeError):
        raise VendorPayloadInvalid(VENDOR, f"bad last_updated {value!r}") from None


def market_chart_range(
    client: VendorHttpClient, coin_id: str, start: datetime, end: datetime, vs_currency: str
) -> VendorResponse:
    """Observations of `coin_id` from `start` to `end` inclusive (tz-aware), in `vs_currency`."""
    params = {
        "vs_currency": vs_currency,
        "from": str(int(start.timestamp())),
        "to": str(int(end.timestamp())),
    }
    return client.get(
        f"coins/{coin_id}/market_chart/range", params, endpoint="coins/{id}/market_chart/range"
    )


def ohlc(client: VendorHttpClient, coin_id: str, days: int, vs_currency: str) -> VendorResponse:
    """Candles of the last `days` days (1, 7, 14, 30, 90, 180, 365)."""
    params = {"vs_currency": vs_currency, "days": str(days)}
    return client.get(f"coins/{coin_id}/ohlc", params, endpoint="coins/{id}/ohlc")


def markets(client: VendorHttpClient, ids: list[str], vs_currency: str) -> VendorResponse:
    """Current market snapshot of `ids`."""
    params = {"vs_currency": vs_currency, "ids": ",".join(ids)}
    return client.get("coins/markets", params, endpoint="coins/markets")
