"""Strict parsing helpers shared by the vendor payload parsers.

Every failure is a VendorPayloadInvalid naming the vendor and what was wrong, never a
KeyError, TypeError or a frame with silently wrong values. Conventions of the frames built here:

- Intraday bars: columns ts (datetime64[us, UTC], the bar OPEN time), open, high, low, close,
  volume (float64), sorted by ts, no duplicated ts (a duplicate within one response is an
  invalid payload). Values are finite; their consistency (high >= low, ...) is the bars
  layer's quality checks' job.
- Daily bars: trade_date (datetime.date, the exchange's session date), open, high, low, close,
  volume; the adjusted representation adds adjusted_close, dividend_amount (cash per share paid
  with ex-date trade_date, 0 when none) and split_coefficient (new shares per old share effective
  on trade_date, 1 when none).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from fin_assets.resources.vendors.errors import VendorPayloadInvalid

BAR_VALUES = ("open", "high", "low", "close", "volume")
INTRADAY_COLUMNS = ("ts", *BAR_VALUES)
DAILY_COLUMNS = ("trade_date", *BAR_VALUES)
ADJUSTED_DAILY_COLUMNS = (*DAILY_COLUMNS, "adjusted_close", "dividend_amount", "split_coefficient")


def decode_text(vendor: str, content: bytes) -> str:
    """UTF-8 text of a body, without a leading BOM (some Alpha Vantage files carry one)."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise VendorPayloadInvalid(vendor, f"body is not UTF-8: {error}") from None


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        duplicated = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"duplicate keys {duplicated[:5]}")
    return dict(pairs)


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-standard JSON constant {name}")


def load_json(vendor: str, content: bytes) -> Any:
    """Parse a JSON body strictly: UTF-8 (BOM allowed), no duplicate keys, no NaN/Infinity."""
    text = decode_text(vendor, content)
    try:
        return json.loads(
            text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
        )
    except (ValueError, RecursionError) as error:
        raise VendorPayloadInvalid(vendor, f"body is not valid JSON: {error}") from None


def read_csv_rows(vendor: str, content: bytes, header: Sequence[str]) -> list[list[str]]:
    """Data rows of a CSV body whose first line is exactly `header` (CRLF or LF)."""
    rows = list(csv.reader(io.StringIO(decode_text(vendor, content), newline="")))
    if not rows or rows[0] != list(header):
        found = rows[0] if rows else "an empty body"
        raise VendorPayloadInvalid(vendor, f"CSV header {found} is not {list(header)}")
    data = rows[1:]
    for number, row in enumerate(data, start=2):
        if len(row) != len(header):
            raise VendorPayloadInvalid(
                vendor, f"CSV line {number} has {len(row)} fields, expected {len(header)}"
            )
    return data


def member(vendor: str, container: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    """`container[key]`, which must exist and be of `kind` (bool never counts as a number)."""
    if not isinstance(container, dict):
        raise VendorPayloadInvalid(vendor, f"expected an object holding {key!r}")
    if key not in container:
        raise VendorPayloadInvalid(vendor, f"missing key {key!r}")
    value = container[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
        raise VendorPayloadInvalid(vendor, f"{key!r} has type {type(value).__name__}")
    return value


def finite_number(vendor: str, value: Any, what: str) -> float:
    """A finite float from a JSON number or a numeric string ("217.4", "1.0000")."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise VendorPayloadInvalid(vendor, f"{what} is not a number: {value!r}")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise VendorPayloadInvalid(vendor, f"{what} is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise VendorPayloadInvalid(vendor, f"{what} is not finite: {value!r}")
    return number


# Epoch timestamps are accepted within +-2**33 seconds of 1970 (years 1697 to 2242).
EPOCH_LIMITS = {"s": 2**33, "ms": 2**33 * 1000}


def epoch_integer(vendor: str, value: Any, what: str, unit: str) -> int:
    """A JSON integer that is an epoch timestamp in `unit` ("s" or "ms") within EPOCH_LIMITS."""
    limit = EPOCH_LIMITS[unit]
    if isinstance(value, bool) or not isinstance(value, int) or not -limit < value < limit:
        raise VendorPayloadInvalid(vendor, f"{what} is not an epoch time in {unit}: {value!r}")
    return value


def parse_date(vendor: str, text: Any) -> date:
    """A YYYY-MM-DD date."""
    if not isinstance(text, str):
        raise VendorPayloadInvalid(vendor, f"date {text!r} is not a string")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise VendorPayloadInvalid(vendor, f"bad date {text!r}") from None


def intraday_frame(vendor: str, ts: pd.DatetimeIndex, values: list[list[float]]) -> pd.DataFrame:
    """Intraday bars (see the module docstring) from UTC bar-open times and OHLCV rows."""
    frame = pd.DataFrame(
        np.asarray(values, dtype=np.float64).reshape(len(values), len(BAR_VALUES)),
        columns=list(BAR_VALUES),
    )
    frame.insert(0, "ts", ts.tz_convert("UTC").as_unit("us"))
    return _sorted_unique(vendor, frame, "ts")


def daily_frame(vendor: str, columns: dict[str, list[Any]]) -> pd.DataFrame:
    """Daily bars keyed by trade_date from column lists (float columns become float64)."""
    frame = pd.DataFrame(
        {
            name: values if name == "trade_date" else np.asarray(values, dtype=np.float64)
            for name, values in columns.items()
        }
    )
    return _sorted_unique(vendor, frame, "trade_date")


def _sorted_unique(vendor: str, frame: pd.DataFrame, key: str) -> pd.DataFrame:
    duplicated = frame[key][frame[key].duplicated()]
    if not duplicated.empty:
        raise VendorPayloadInvalid(
            vendor, f"{len(duplicated)} duplicated {key} values, first {duplicated.iloc[0]}"
        )
    return frame.sort_values(key, kind="stable").reset_index(drop=True)
