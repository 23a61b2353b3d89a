"""Tests of bar normalization and daily aggregation against hand-computed frames."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from fin_assets.analytics.bars import (
    aggregate_daily_bars,
    merge_sources,
    normalize_intraday_bars,
)
from fin_assets.analytics.schemas import DAILY_BARS, INTRADAY_BARS

DAY = date(2025, 3, 10)


def raw_bars(ts: list[str], tz: str | None, closes: list[float]) -> pd.DataFrame:
    """Raw bars whose open/high/low/volume are derived from the close for easy checking."""
    return pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(ts).tz_localize(tz) if tz else pd.DatetimeIndex(ts),
            "open": closes,
            "high": [c + 1 for c in closes],
            "low": [c - 1 for c in closes],
            "close": closes,
            "volume": [10 * c for c in closes],
        }
    )


def test_normalize_converts_to_utc_sorts_and_keeps_the_last_duplicate() -> None:
    raw = raw_bars(
        ["2025-03-10 09:31", "2025-03-10 09:30", "2025-03-10 09:31", "2025-03-10 09:32"],
        "America/New_York",
        [2.0, 1.0, 3.0, 4.0],  # the second 09:31 bar (close 3) is the vendor's correction
    )
    result = normalize_intraday_bars(raw, "AAPL", DAY)
    assert result.duplicates_dropped == 1
    expected = pd.DataFrame(
        {
            "symbol": ["AAPL"] * 3,
            "trade_date": [DAY] * 3,
            "ts": pd.DatetimeIndex(
                ["2025-03-10 13:30", "2025-03-10 13:31", "2025-03-10 13:32"], tz="UTC"
            ).as_unit("us"),
            "open": [1.0, 3.0, 4.0],
            "high": [2.0, 4.0, 5.0],
            "low": [0.0, 2.0, 3.0],
            "close": [1.0, 3.0, 4.0],
            "volume": [10.0, 30.0, 40.0],
        }
    )
    pd.testing.assert_frame_equal(result.bars, expected)
    assert list(result.bars.columns) == INTRADAY_BARS.names
    assert result.bars.dtypes.equals(INTRADAY_BARS.empty_table().to_pandas().dtypes)


def test_normalize_casts_integers_and_ignores_extra_columns() -> None:
    raw = raw_bars(["2025-03-10 13:30"], "UTC", [5.0]).assign(
        volume=lambda f: f["volume"].astype("int64"), vendor_flag="x"
    )
    bars = normalize_intraday_bars(raw, "AAPL", DAY).bars
    assert list(bars.columns) == INTRADAY_BARS.names
    assert bars["volume"].dtype == np.float64
    assert bars["volume"].tolist() == [50.0]


def test_normalize_empty_input_gives_empty_bars() -> None:
    raw = raw_bars([], "UTC", [])
    result = normalize_intraday_bars(raw, "AAPL", DAY)
    assert result.duplicates_dropped == 0
    assert len(result.bars) == 0
    assert result.bars.dtypes.equals(INTRADAY_BARS.empty_table().to_pandas().dtypes)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (raw_bars(["2025-03-10 13:30"], None, [1.0]), "tz-naive"),
        (raw_bars(["2025-03-10 13:30"], "UTC", [1.0]).astype({"ts": str}), "tz-aware datetimes"),
        (raw_bars(["2025-03-10 13:30"], "UTC", [1.0]).drop(columns="volume"), r"\['volume'\]"),
        (raw_bars(["2025-03-10 13:30"], "UTC", [1.0]).astype({"open": str}), "'open' must be"),
        (
            raw_bars(["2025-03-10 13:30:00.0000001"], "UTC", [1.0]),
            "sub-microsecond",
        ),
    ],
)
def test_normalize_rejects_bad_input(raw: pd.DataFrame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalize_intraday_bars(raw, "AAPL", DAY)


def test_normalize_rejects_missing_timestamps() -> None:
    raw = raw_bars(["2025-03-10 13:30", "2025-03-10 13:31"], "UTC", [1.0, 2.0])
    raw.loc[1, "ts"] = pd.NaT
    with pytest.raises(ValueError, match="ts has 1 null values"):
        normalize_intraday_bars(raw, "AAPL", DAY)


def intraday(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["symbol", "trade_date", "ts", "open", "high", "low", "close", "volume"]
    ).assign(ts=lambda f: pd.to_datetime(f["ts"], utc=True))


def test_aggregate_daily_bars_by_hand() -> None:
    d1, d2 = date(2025, 3, 10), date(2025, 3, 11)
    bars = intraday(
        [
            # Out of order on purpose: the 13:31 bar comes first.
            ("MSFT", d1, "2025-03-10 13:31", 11.0, 13.0, 10.0, 12.0, 200.0),
            ("MSFT", d1, "2025-03-10 13:30", 10.0, 11.0, 9.0, 11.0, 100.0),
            ("MSFT", d1, "2025-03-10 13:32", 12.0, 12.5, 8.0, 9.0, 0.0),
            ("AAPL", d2, "2025-03-11 13:30", 5.0, 6.0, 4.0, 5.0, 0.0),
            ("AAPL", d1, "2025-03-10 13:30", 3.0, 4.0, 2.0, 3.0, 50.0),
        ]
    )
    daily = aggregate_daily_bars(bars)
    # MSFT d1 typical prices: (11+9+11)/3 = 31/3, (13+10+12)/3 = 35/3, (12.5+8+9)/3 = 29.5/3
    msft_vwap = (31 / 3 * 100 + 35 / 3 * 200 + 29.5 / 3 * 0) / 300  # = 101/9
    expected = pd.DataFrame(
        {
            "symbol": ["AAPL", "AAPL", "MSFT"],
            "trade_date": [d1, d2, d1],
            "open": [3.0, 5.0, 10.0],
            "high": [4.0, 6.0, 13.0],
            "low": [2.0, 4.0, 8.0],
            "close": [3.0, 5.0, 9.0],
            "volume": [50.0, 0.0, 300.0],
            "vwap": [3.0, math.nan, msft_vwap],
            "bar_count": np.array([1, 1, 3], dtype=np.int64),
        }
    )
    pd.testing.assert_frame_equal(daily, expected)
    assert math.isclose(msft_vwap, 101 / 9)
    assert list(daily.columns) == DAILY_BARS.names


def test_aggregate_of_normalized_bars_has_the_daily_schema_dtypes() -> None:
    raw = raw_bars(["2025-03-10 13:30", "2025-03-10 13:31"], "UTC", [2.0, 4.0])
    daily = aggregate_daily_bars(normalize_intraday_bars(raw, "SPY", DAY).bars)
    assert daily.dtypes.equals(DAILY_BARS.empty_table().to_pandas().dtypes)
    # typical prices 2 and 4 with volumes 20 and 40: (2*20 + 4*40) / 60 = 200/60
    assert daily[["open", "high", "low", "close", "volume", "bar_count"]].iloc[0].tolist() == [
        2.0,
        5.0,
        1.0,
        4.0,
        60.0,
        2,
    ]
    assert math.isclose(daily["vwap"].iloc[0], 200 / 60)


def test_aggregate_empty_input_gives_empty_daily_bars() -> None:
    empty = INTRADAY_BARS.empty_table().to_pandas()
    daily = aggregate_daily_bars(empty)
    assert len(daily) == 0
    assert list(daily.columns) == DAILY_BARS.names
    assert daily.dtypes.equals(DAILY_BARS.empty_table().to_pandas().dtypes)


def test_aggregate_rejects_bad_input() -> None:
    bars = intraday([("AAPL", DAY, "2025-03-10 13:30", 3.0, 4.0, 2.0, 3.0, 50.0)])
    with pytest.raises(ValueError, match=r"missing columns \['volume'\]"):
        aggregate_daily_bars(bars.drop(columns="volume"))
    with pytest.raises(ValueError, match=r"null values in columns \['close'\]"):
        aggregate_daily_bars(bars.assign(close=math.nan))


def test_sources_merge_minute_by_minute_the_later_winning() -> None:
    # A vendor day in New York time, then two corrections in UTC: the first replaces 14:31,
    # the second replaces 14:31 again and adds nothing else; 14:30 and 14:32 keep the vendor's.
    vendor = raw_bars(
        ["2025-03-10 10:30", "2025-03-10 10:31", "2025-03-10 10:32"],
        "America/New_York",
        [100.0, 101.0, 102.0],
    )
    first = raw_bars(["2025-03-10 14:31"], "UTC", [201.0])
    second = raw_bars(["2025-03-10 14:31"], "UTC", [301.0]).assign(extra="ignored")
    empty = raw_bars([], "UTC", [])

    merged = normalize_intraday_bars(merge_sources([vendor, first, empty, second]), "AAPL", DAY)

    assert merged.bars["ts"].dt.strftime("%H:%M").tolist() == ["14:30", "14:31", "14:32"]
    assert merged.bars["close"].tolist() == [100.0, 301.0, 102.0]
    assert merged.bars["volume"].tolist() == [1000.0, 3010.0, 1020.0]
    assert merged.duplicates_dropped == 2


def test_merging_no_source_is_an_error() -> None:
    with pytest.raises(ValueError, match="no source"):
        merge_sources([])
