"""Bars: vendor one-minute bars normalized to the lake contract, and daily bars built from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from fin_assets.analytics.schemas import DAILY_BARS, INTRADAY_BARS

VALUE_COLUMNS = ("open", "high", "low", "close", "volume")
RAW_COLUMNS = ("ts", *VALUE_COLUMNS)
DAILY_KEYS = ["symbol", "trade_date"]


@dataclass(frozen=True, eq=False)
class NormalizedBars:
    """Normalized bars and how many duplicated timestamps were dropped to get them."""

    bars: pd.DataFrame
    duplicates_dropped: int


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing columns {missing}")


def _utc_timestamps(values: pd.Series) -> pd.Series:
    """`values` as datetime64[us, UTC]; raises on naive, non-datetime, null, sub-us values."""
    if not isinstance(values.dtype, pd.DatetimeTZDtype):
        kind = "tz-naive" if pd.api.types.is_datetime64_dtype(values) else str(values.dtype)
        raise ValueError(f"ts must be tz-aware datetimes, got {kind} values")
    if values.isna().any():
        raise ValueError(f"ts has {int(values.isna().sum())} null values")
    utc = values.dt.tz_convert("UTC")
    micro = utc.dt.as_unit("us")
    if not (micro == utc).all():
        raise ValueError("ts has sub-microsecond values")
    return micro


def _float_column(values: pd.Series, name: str) -> np.ndarray:
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise ValueError(f"column {name!r} must be numeric, got {values.dtype}")
    return values.to_numpy(dtype=np.float64)


def merge_sources(sources: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The raw one-minute bars of one session delivered by several sources, merged minute by minute.

    `sources` come in ascending precedence (docs/landing.md, "Merging a session's sources"): the
    vendor's payloads in fetch order, then the landing payloads in landing order. Each needs the
    RAW_COLUMNS (other columns are dropped; `ts` tz-aware, converted to UTC). The result is
    their rows concatenated in that order, which normalize_intraday_bars reduces to the last
    row of each `ts`: a minute carried by a later source takes that source's values, a minute a
    source does not carry keeps the values of the sources before it. Sources without rows add
    nothing; ValueError when there is no source at all.
    """
    if not sources:
        raise ValueError("no source to merge")
    frames = []
    for source in sources:
        _require_columns(source, RAW_COLUMNS, "raw bars")
        if source.empty:
            continue
        frame = pd.DataFrame({"ts": _utc_timestamps(source["ts"])})
        for column in VALUE_COLUMNS:
            frame[column] = _float_column(source[column], column)
        frames.append(frame)
    if not frames:
        return sources[-1][list(RAW_COLUMNS)].iloc[:0]
    return pd.concat(frames, ignore_index=True)


def normalize_intraday_bars(raw: pd.DataFrame, symbol: str, trade_date: date) -> NormalizedBars:
    """Vendor one-minute bars as an INTRADAY_BARS frame for one (symbol, trade_date).

    `raw` needs columns ts (tz-aware bar open times; tz-naive is rejected, other zones are
    converted to UTC), open, high, low, close, volume (numeric); other columns are ignored.
    Rows are sorted by ts (stable); rows with the same ts keep only the LAST one in `raw`'s
    order (vendors resend corrected bars), and their number is `duplicates_dropped`. Values are
    not validated here (that is the quality rules' job). The index is a fresh RangeIndex.
    """
    _require_columns(raw, RAW_COLUMNS, "raw bars")
    frame = pd.DataFrame({"ts": _utc_timestamps(raw["ts"])})
    for column in VALUE_COLUMNS:
        frame[column] = _float_column(raw[column], column)
    frame = frame.sort_values("ts", kind="stable")
    deduplicated = frame.drop_duplicates("ts", keep="last")
    bars = deduplicated.reset_index(drop=True).assign(symbol=symbol, trade_date=trade_date)
    return NormalizedBars(bars[INTRADAY_BARS.names], len(frame) - len(deduplicated))


def aggregate_daily_bars(intraday: pd.DataFrame) -> pd.DataFrame:
    """DAILY_BARS of one-minute bars, one row per (symbol, trade_date), sorted by both.

    Within each group, bars ordered by ts: open of the first bar, max high, min low, close of
    the last bar, summed volume, bar_count = number of bars, and
    vwap = sum(typical * volume) / sum(volume) with typical = (high + low + close) / 3 (NaN
    when the volume sums to 0). Null values in any of these columns raise ValueError. Empty
    input gives an empty DAILY_BARS frame.
    """
    columns = ("symbol", "trade_date", *RAW_COLUMNS)
    _require_columns(intraday, columns, "intraday bars")
    with_nulls = [column for column in columns if intraday[column].isna().any()]
    if with_nulls:
        raise ValueError(f"intraday bars have null values in columns {with_nulls}")
    if intraday.empty:
        return DAILY_BARS.empty_table().to_pandas()
    ordered = intraday.sort_values([*DAILY_KEYS, "ts"], kind="stable").assign(
        typical_volume=lambda f: (f["high"] + f["low"] + f["close"]) / 3 * f["volume"]
    )
    grouped = ordered.groupby(DAILY_KEYS, sort=False)
    daily = pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
            "volume": grouped["volume"].sum(),
            "typical_volume": grouped["typical_volume"].sum(),
            "bar_count": grouped.size().astype(np.int64),
        }
    ).reset_index()
    daily["vwap"] = daily["typical_volume"] / daily["volume"].where(daily["volume"] != 0)
    return daily[DAILY_BARS.names]
