"""Tests of the data-quality rules, on hand-made frames and on real vendor minute bars."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from fin_assets.analytics.quality import (
    SAMPLE_SIZE,
    check_no_nulls,
    check_non_negative_volume,
    check_ohlc_consistency,
    check_positive_prices,
    check_schema,
    check_session_completeness,
    check_unique,
    check_value_range,
    check_var_ordering,
    ohlc_inconsistent_mask,
)
from fin_assets.analytics.schemas import DAILY_BARS, INTRADAY_BARS
from fin_assets_tests.analytics.real_day import INCONSISTENT_BARS, REAL_DAY

REAL_INCONSISTENT = {coin: bars for coin, bars in INCONSISTENT_BARS.items() if bars}
DAY = date(2025, 10, 12)
NAN = float("nan")
INF = float("inf")


def _intraday(rows: list[tuple[float, float, float, float, float]]) -> pd.DataFrame:
    """An INTRADAY_BARS frame of one symbol, one bar per minute from 14:30 UTC."""
    ts = pd.date_range("2025-10-12 14:30", periods=len(rows), freq="min", tz="UTC", unit="us")
    prices = pd.DataFrame(rows, columns=["open", "high", "low", "close", "volume"], dtype=float)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "symbol": pd.Series(["AAPL"] * len(rows), dtype=object),
                    "trade_date": pd.Series([DAY] * len(rows), dtype=object),
                    "ts": ts,
                }
            ),
            prices,
        ],
        axis=1,
    )


def _minutes(start: str, count: int) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=count, freq="min", tz="UTC")


@pytest.fixture(scope="module")
def real_bars() -> pd.DataFrame:
    assert REAL_DAY.exists(), f"real-data file missing: {REAL_DAY}"
    return pd.read_parquet(REAL_DAY)


# ---- real data -------------------------------------------------------------------------------


def test_ohlc_consistency_flags_exactly_the_43_vendor_bars(real_bars: pd.DataFrame) -> None:
    result = check_ohlc_consistency(real_bars)

    assert not result.passed
    assert result.failed_rows == 43
    assert result.checked_rows == 9600
    assert dict(Counter(real_bars.loc[ohlc_inconsistent_mask(real_bars), "symbol"])) == (
        REAL_INCONSISTENT
    )
    assert result.detail.endswith(
        "by symbol: UNISWAP 32, AVALANCHE-2 4, CHAINLINK 3, ETHEREUM 2, POLKADOT 1, SOLANA 1"
    )
    assert len(result.sample) == SAMPLE_SIZE


def test_ohlc_mask_matches_a_plain_python_loop(real_bars: pd.DataFrame) -> None:
    expected = []
    for row in real_bars.itertuples():
        o, h, lo, c = row.open, row.high, row.low, row.close
        if any(math.isnan(x) for x in (o, h, lo, c)) or lo > min(o, c) or h < max(o, c):
            expected.append(row.Index)

    mask = ohlc_inconsistent_mask(real_bars)

    assert len(expected) == 43
    assert mask.index.equals(real_bars.index)
    assert list(real_bars.index[mask.to_numpy()]) == expected
    assert list(check_ohlc_consistency(real_bars).sample.index) == expected[:SAMPLE_SIZE]


def test_real_bars_are_unique_positive_non_negative_and_complete(real_bars: pd.DataFrame) -> None:
    unique = check_unique(real_bars, ["symbol", "timestamp"])
    positive = check_positive_prices(real_bars)
    volume = check_non_negative_volume(real_bars)
    bars = real_bars.rename(columns={"timestamp": "ts"}).assign(trade_date=DAY)
    expected = {
        (symbol, DAY): _minutes("2025-10-12 04:00", 20 * 60) for symbol in bars["symbol"].unique()
    }
    complete = check_session_completeness(bars, expected)
    one_gap = check_session_completeness(bars.drop(index=5), expected)

    assert (unique.passed, unique.failed_rows, unique.checked_rows) == (True, 0, 9600)
    assert (positive.passed, positive.failed_rows) == (True, 0)
    assert (volume.passed, volume.failed_rows) == (True, 0)
    assert (complete.passed, complete.failed_rows, complete.checked_rows) == (True, 0, 9600)
    assert (one_gap.failed_rows, one_gap.checked_rows) == (1, 9600)
    assert one_gap.sample.iloc[0].to_dict() == {
        "symbol": "BITCOIN",
        "trade_date": DAY,
        "ts": pd.Timestamp("2025-10-12 04:05", tz="UTC"),
        "problem": "missing",
    }


# ---- RuleResult ------------------------------------------------------------------------------


def test_rule_result_is_frozen() -> None:
    result = check_no_nulls(pd.DataFrame({"a": [1.0]}), ["a"])

    with pytest.raises(dataclasses.FrozenInstanceError):
        result.passed = False  # type: ignore[misc]


# ---- check_schema ----------------------------------------------------------------------------


def test_schema_passes_a_conforming_frame_with_nulls() -> None:
    frame = _intraday([(1.0, 2.0, 0.5, 1.5, 10.0), (NAN, NAN, NAN, NAN, NAN)])

    result = check_schema(frame, INTRADAY_BARS)

    assert (result.passed, result.failed_rows, result.checked_rows) == (True, 0, 2)
    assert result.detail == "all 8 columns match the schema"
    assert result.sample.empty


def test_schema_passes_an_empty_conforming_frame() -> None:
    frame = _intraday([])

    result = check_schema(frame, INTRADAY_BARS)

    assert (result.passed, result.failed_rows, result.checked_rows) == (True, 0, 0)


def test_schema_names_missing_extra_and_duplicated_columns() -> None:
    frame = _intraday([(1.0, 2.0, 0.5, 1.5, 10.0)] * 3).drop(columns=["volume"])
    frame["note"] = "x"
    frame = pd.concat([frame, frame[["open"]]], axis=1)

    result = check_schema(frame, INTRADAY_BARS)

    assert (result.passed, result.failed_rows, result.checked_rows) == (False, 3, 3)
    assert result.detail == (
        "duplicated columns ['open']; missing columns ['volume']; extra columns ['note']"
    )
    assert len(result.sample) == 3


def test_schema_reports_column_order() -> None:
    frame = _intraday([(1.0, 2.0, 0.5, 1.5, 10.0)])
    frame = frame[["trade_date", "symbol", *INTRADAY_BARS.names[2:]]]

    result = check_schema(frame, INTRADAY_BARS)

    assert not result.passed
    assert result.detail.startswith("column order ['trade_date', 'symbol', 'ts',")


def test_schema_fails_an_empty_frame_with_wrong_columns() -> None:
    result = check_schema(pd.DataFrame({"symbol": pd.Series([], dtype=object)}), INTRADAY_BARS)

    assert (result.passed, result.failed_rows, result.checked_rows) == (False, 0, 0)


def _daily(**overrides: object) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "symbol": ["AAPL", "MSFT"],
            "trade_date": [DAY, DAY],
            "open": [1.0, 2.0],
            "high": [1.0, 2.0],
            "low": [1.0, 2.0],
            "close": [1.0, 2.0],
            "volume": [1.0, 2.0],
            "vwap": [1.0, 2.0],
            "bar_count": [390, 390],
        }
    )
    return frame.assign(**overrides)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"bar_count": [390.0, 389.5]}, "column 'bar_count': not convertible to int64"),
        ({"bar_count": [390.0, 2.0**63]}, "column 'bar_count': not convertible to int64"),
        ({"symbol": [1, 2]}, "column 'symbol': not convertible to string"),
        ({"close": ["1.0", "x"]}, "column 'close': not convertible to double"),
        (
            {"trade_date": pd.to_datetime(["2025-10-12 00:00", "2025-10-12 10:00"])},
            "column 'trade_date': datetimes with a time of day would be truncated to date32[day]",
        ),
    ],
)
def test_schema_rejects_lossy_columns(overrides: dict[str, object], problem: str) -> None:
    result = check_schema(_daily(**overrides), DAILY_BARS)

    assert (result.passed, result.failed_rows) == (False, 2)
    assert result.detail.startswith(problem)


def test_schema_accepts_lossless_conversions() -> None:
    frame = _daily(bar_count=[390.0, 389.0], trade_date=pd.to_datetime(["2025-10-12"] * 2))

    assert check_schema(frame, DAILY_BARS).passed


def test_schema_rejects_naive_and_sub_microsecond_timestamps() -> None:
    naive = _intraday([(1.0, 2.0, 0.5, 1.5, 10.0)])
    naive["ts"] = naive["ts"].dt.tz_localize(None)
    fine = _intraday([(1.0, 2.0, 0.5, 1.5, 10.0)])
    fine["ts"] = fine["ts"].dt.as_unit("ns") + pd.Timedelta(1, "ns")

    naive_result = check_schema(naive, INTRADAY_BARS)
    fine_result = check_schema(fine, INTRADAY_BARS)

    assert naive_result.detail == (
        "column 'ts': tz-naive datetime64 cannot fill timestamp[us, tz=UTC]"
        " (its time zone would be assumed)"
    )
    assert not fine_result.passed
    assert fine_result.detail.startswith("column 'ts': not convertible to timestamp[us, tz=UTC]")


# ---- check_unique ----------------------------------------------------------------------------


def test_unique_counts_every_row_of_a_duplicate() -> None:
    frame = pd.DataFrame(
        {
            "symbol": ["A", "A", "A", "B", "B", "C", "A"],
            "day": [1, 1, 1, 1, 1, 1, 2],
        }
    )

    result = check_unique(frame, ["symbol", "day"])

    assert (result.passed, result.failed_rows, result.checked_rows) == (False, 5, 7)
    assert list(result.sample.index) == [0, 1, 2, 3, 4]
    assert result.detail == (
        "5 of 7 checked rows violate unique (symbol, day); by symbol: A 3, B 2"
    )


def test_unique_treats_null_keys_as_equal_and_passes_empty_and_distinct() -> None:
    nulls = pd.DataFrame({"k": [None, None, 1.0]})

    assert check_unique(nulls, ["k"]).failed_rows == 2
    assert check_unique(pd.DataFrame({"k": [1, 2, 3]}), ["k"]).passed
    assert check_unique(pd.DataFrame({"k": []}), ["k"]).passed


@pytest.mark.parametrize(
    ("keys", "message"),
    [("k", "non-empty sequence"), ([], "non-empty"), (["z"], "missing columns \\['z'\\]")],
)
def test_unique_refuses_bad_keys(keys: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_unique(pd.DataFrame({"k": [1]}), keys)  # type: ignore[arg-type]


# ---- OHLC consistency ------------------------------------------------------------------------


def test_ohlc_mask_on_hand_made_bars() -> None:
    frame = _intraday(
        [
            (10.0, 12.0, 9.0, 11.0, 1.0),  # consistent
            (10.0, 10.0, 10.0, 10.0, 1.0),  # flat bar: consistent
            (10.0, 12.0, 10.5, 11.0, 1.0),  # low above open
            (10.0, 12.0, 9.0, 12.5, 1.0),  # high below close
            (10.0, 9.0, 11.0, 10.0, 1.0),  # low above high
            (10.0, 12.0, NAN, 11.0, 1.0),  # NaN low
            (NAN, NAN, NAN, NAN, 1.0),  # all NaN
        ]
    )

    mask = ohlc_inconsistent_mask(frame)
    result = check_ohlc_consistency(frame)

    assert mask.tolist() == [False, False, True, True, True, True, True]
    assert mask.name == "ohlc_inconsistent"
    assert (result.passed, result.failed_rows, result.checked_rows) == (False, 5, 7)
    assert list(result.sample.index) == [2, 3, 4, 5, 6]


def test_ohlc_consistency_passes_an_empty_frame_and_refuses_bad_columns() -> None:
    empty = check_ohlc_consistency(_intraday([]))

    assert (empty.passed, empty.failed_rows, empty.checked_rows) == (True, 0, 0)
    with pytest.raises(ValueError, match="missing columns \\['close'\\]"):
        check_ohlc_consistency(pd.DataFrame({"open": [1.0], "high": [1.0], "low": [1.0]}))
    with pytest.raises(ValueError, match="column 'low' must be numeric"):
        check_ohlc_consistency(_intraday([(1.0, 1.0, 1.0, 1.0, 1.0)]).assign(low=["1"]))


# ---- positivity ------------------------------------------------------------------------------


def test_positive_prices() -> None:
    frame = _intraday(
        [
            (1.0, 2.0, 0.5, 1.5, 0.0),
            (1.0, 2.0, 0.0, 1.5, 0.0),  # zero low
            (1.0, 2.0, -0.5, 1.5, 0.0),  # negative low
            (1.0, INF, 0.5, 1.5, 0.0),  # infinite high
            (NAN, 2.0, 0.5, 1.5, 0.0),  # NaN open
        ]
    )

    result = check_positive_prices(frame)

    assert (result.passed, result.failed_rows, result.checked_rows) == (False, 4, 5)
    assert list(result.sample.index) == [1, 2, 3, 4]
    assert check_positive_prices(frame.iloc[:1]).passed
    assert check_positive_prices(_intraday([])).passed


def test_non_negative_volume() -> None:
    frame = pd.DataFrame({"volume": [0.0, 5.0, -1.0, NAN, INF, 3]})

    result = check_non_negative_volume(frame)

    assert (result.passed, result.failed_rows, result.checked_rows) == (False, 3, 6)
    assert list(result.sample.index) == [2, 3, 4]
    assert result.detail == "3 of 6 checked rows violate volume finite and >= 0"
    assert check_non_negative_volume(frame.iloc[:2]).passed
    with pytest.raises(ValueError, match="missing columns \\['volume'\\]"):
        check_non_negative_volume(pd.DataFrame({"close": [1.0]}))


# ---- session completeness --------------------------------------------------------------------


def _bars(symbol: str, day: date, stamps: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame({"symbol": symbol, "trade_date": [day] * len(stamps), "ts": stamps})


def test_session_completeness_passes_exact_minutes_in_any_time_zone() -> None:
    bars = _bars("AAPL", DAY, _minutes("2025-10-12 13:30", 390))
    expected = {("AAPL", DAY): _minutes("2025-10-12 13:30", 390).tz_convert("America/New_York")}

    result = check_session_completeness(bars, expected)

    assert (result.passed, result.failed_rows, result.checked_rows) == (True, 0, 390)
    assert result.detail == "all 1 partitions complete (390 minutes)"
    assert list(result.sample.columns) == ["symbol", "trade_date", "ts", "problem"]
    assert result.sample.empty


def test_session_completeness_counts_missing_and_unexpected_minutes() -> None:
    day2 = date(2025, 10, 13)
    aapl = _minutes("2025-10-12 13:30", 5)
    msft = _minutes("2025-10-12 13:30", 3)
    bars = pd.concat(
        [
            _bars("AAPL", DAY, aapl.delete([1, 3])),  # 2 missing
            _bars("MSFT", DAY, msft.append(_minutes("2025-10-12 20:00", 2))),  # 2 unexpected
            _bars("MSFT", DAY, msft[:1]),  # a duplicate counts once
            _bars("SPY", DAY, _minutes("2025-10-12 13:30", 4)),  # no expectation: 4 unexpected
        ],
        ignore_index=True,
    )
    expected = {
        ("AAPL", DAY): aapl,
        ("MSFT", DAY): msft,
        ("MSFT", day2): _minutes("2025-10-13 13:30", 1),  # 1 missing
        ("AAPL", day2): pd.DatetimeIndex([]),  # holiday, no bars: passes
    }

    result = check_session_completeness(bars, expected)

    assert (result.passed, result.failed_rows, result.checked_rows) == (False, 9, 5 + 5 + 1 + 4)
    assert result.detail == (
        "9 of 15 minutes wrong in 4 of 5 partitions; worst: SPY 2025-10-12 (0 missing,"
        " 4 unexpected), AAPL 2025-10-12 (2 missing, 0 unexpected), MSFT 2025-10-12 (0 missing,"
        " 2 unexpected), MSFT 2025-10-13 (1 missing, 0 unexpected)"
    )
    assert result.sample.iloc[:3].to_dict("records") == [
        {"symbol": "AAPL", "trade_date": DAY, "ts": aapl[1], "problem": "missing"},
        {"symbol": "AAPL", "trade_date": DAY, "ts": aapl[3], "problem": "missing"},
        {
            "symbol": "MSFT",
            "trade_date": DAY,
            "ts": pd.Timestamp("2025-10-12 20:00", tz="UTC"),
            "problem": "unexpected",
        },
    ]
    assert len(result.sample) == 9


def test_session_completeness_on_empty_inputs() -> None:
    empty_bars = pd.DataFrame({"symbol": [], "trade_date": [], "ts": []})
    holiday = check_session_completeness(empty_bars, {("AAPL", DAY): pd.DatetimeIndex([])})
    nothing = check_session_completeness(empty_bars, {})
    all_missing = check_session_completeness(
        empty_bars, {("AAPL", DAY): _minutes("2025-10-12 13:30", 3)}
    )

    assert (holiday.passed, holiday.failed_rows, holiday.checked_rows) == (True, 0, 0)
    assert (nothing.passed, nothing.failed_rows) == (True, 0)
    assert (all_missing.passed, all_missing.failed_rows, all_missing.checked_rows) == (
        False,
        3,
        3,
    )


def test_session_completeness_refuses_bad_arguments() -> None:
    bars = _bars("AAPL", DAY, _minutes("2025-10-12 13:30", 2))
    naive = _minutes("2025-10-12 13:30", 2).tz_localize(None)

    with pytest.raises(ValueError, match="must be tz-aware"):
        check_session_completeness(bars, {("AAPL", DAY): naive})
    with pytest.raises(ValueError, match=r"bars\.ts must be tz-aware"):
        check_session_completeness(bars.assign(ts=naive), {})
    with pytest.raises(ValueError, match="keys must be \\(symbol, date\\)"):
        check_session_completeness(bars, {("AAPL", datetime(2025, 10, 12)): naive})
    with pytest.raises(ValueError, match="missing columns \\['trade_date'\\]"):
        check_session_completeness(bars.drop(columns="trade_date"), {})


# ---- value range -----------------------------------------------------------------------------


def test_value_range_skips_nan_and_includes_bounds() -> None:
    frame = pd.DataFrame({"rsi_14": [NAN, NAN, 0.0, 55.5, 100.0, 100.5, -0.1, INF, 30.0]})

    result = check_value_range(frame, "rsi_14", 0.0, 100.0)

    assert (result.passed, result.failed_rows, result.checked_rows) == (False, 3, 7)
    assert list(result.sample.index) == [5, 6, 7]
    assert result.detail == "3 of 7 checked rows violate 0.0 <= rsi_14 <= 100.0"
    assert check_value_range(frame.iloc[:5], "rsi_14", 0, 100).checked_rows == 3
    assert check_value_range(frame.iloc[:2], "rsi_14", 0, 100).passed
    assert check_value_range(frame.iloc[:0], "rsi_14", 0, 100).passed


def test_value_range_refuses_bad_bounds() -> None:
    frame = pd.DataFrame({"rsi_14": [50.0]})

    with pytest.raises(ValueError, match="need low <= high"):
        check_value_range(frame, "rsi_14", 100, 0)
    with pytest.raises(ValueError, match="need low <= high"):
        check_value_range(frame, "rsi_14", NAN, 100)
    with pytest.raises(ValueError, match="missing columns \\['rsi'\\]"):
        check_value_range(frame, "rsi", 0, 100)


# ---- VaR ordering ----------------------------------------------------------------------------


def test_var_ordering_checks_levels_sign_and_cvar() -> None:
    frame = pd.DataFrame(
        {
            "var_95_hist": [0.02, 0.03, -0.01, 0.02, NAN, 0.02, 0.02],
            "var_99_hist": [0.03, 0.02, 0.01, 0.03, 0.05, NAN, 0.03],
            "cvar_95_hist": [0.025, 0.04, 0.0, 0.01, NAN, NAN, NAN],
            "var_95_param": [0.02] * 7,
            "var_99_param": [0.03] * 6 + [0.01],
        }
    )

    result = check_var_ordering(frame)

    # row 1: 99 < 95; row 2: 95 < 0; row 3: cvar_95 < var_95; row 6: param 99 < 95
    assert (result.passed, result.failed_rows, result.checked_rows) == (False, 4, 7)
    assert list(result.sample.index) == [1, 2, 3, 6]
    assert result.detail == (
        "4 of 7 checked rows violate var_99_hist >= var_95_hist >= 0 and"
        " var_99_param >= var_95_param >= 0 and cvar_95_hist >= var_95_hist;"
        " failures per constraint: var_99_hist >= var_95_hist >= 0: 2,"
        " var_99_param >= var_95_param >= 0: 1, cvar_95_hist >= var_95_hist: 1"
    )


def test_var_ordering_skips_nan_rows_and_passes_empty() -> None:
    frame = pd.DataFrame({"var_95_hist": [NAN, 0.02], "var_99_hist": [0.01, NAN]})

    result = check_var_ordering(frame, pairs=[("var_99_hist", "var_95_hist")])

    assert (result.passed, result.failed_rows, result.checked_rows) == (True, 0, 0)
    assert check_var_ordering(frame.iloc[:0], pairs=[("var_99_hist", "var_95_hist")]).passed
    with pytest.raises(ValueError, match="missing columns \\['var_99_param', 'var_95_param'\\]"):
        check_var_ordering(frame)
    with pytest.raises(ValueError, match="pairs must not be empty"):
        check_var_ordering(frame, pairs=[])


# ---- no nulls --------------------------------------------------------------------------------


def test_no_nulls_counts_rows_and_names_columns() -> None:
    frame = pd.DataFrame(
        {
            "symbol": ["A", None, "B", "B"],
            "close": [1.0, NAN, NAN, 2.0],
            "ts": pd.to_datetime(["2025-10-12", None, "2025-10-12", "2025-10-12"], utc=True),
        }
    )

    result = check_no_nulls(frame, ["symbol", "close", "ts"])

    assert (result.passed, result.failed_rows, result.checked_rows) == (False, 2, 4)
    assert list(result.sample.index) == [1, 2]
    assert result.detail == (
        "2 of 4 checked rows violate no nulls in symbol, close, ts;"
        " nulls: symbol 1, close 2, ts 1; by symbol: B 1"
    )
    assert check_no_nulls(frame.iloc[[0, 3]], ["symbol", "close", "ts"]).passed
    assert check_no_nulls(frame.iloc[:0], ["close"]).passed
    with pytest.raises(ValueError, match="non-empty sequence"):
        check_no_nulls(frame, "close")


def test_sample_is_capped() -> None:
    frame = pd.DataFrame({"x": np.full(SAMPLE_SIZE + 5, NAN)})

    result = check_no_nulls(frame, ["x"])

    assert result.failed_rows == SAMPLE_SIZE + 5
    assert list(result.sample.index) == list(range(SAMPLE_SIZE))
