"""Tests of compute_indicators against plain-loop reference implementations of its formulas."""

from __future__ import annotations

import datetime as dt
import pickle

import numpy as np
import pandas as pd
import pytest
import talib

from fin_assets.analytics import talib_c
from fin_assets.analytics.indicators import _run_codes, compute_indicators
from fin_assets.analytics.schemas import INDICATOR_COLUMNS, INDICATORS

N_ROWS = 300


def _ref_sma(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    for t in range(n - 1, len(x)):
        out[t] = sum(x[t - n + 1 : t + 1]) / n
    return out


def _ref_ema(x: np.ndarray, n: int, start: int = 0) -> np.ndarray:
    """EMA seeded at row start+n-1 with the mean of x[start : start+n]."""
    out = np.full(len(x), np.nan)
    alpha = 2.0 / (n + 1)
    seed = start + n - 1
    if seed >= len(x):
        return out
    out[seed] = sum(x[start : seed + 1]) / n
    for t in range(seed + 1, len(x)):
        out[t] = out[t - 1] + alpha * (x[t] - out[t - 1])
    return out


def _ref_wilder(x: np.ndarray, n: int) -> np.ndarray:
    """Wilder average of x[1:], seeded at row n with the mean of x[1..n]."""
    out = np.full(len(x), np.nan)
    out[n] = sum(x[1 : n + 1]) / n
    for t in range(n + 1, len(x)):
        out[t] = ((n - 1) * out[t - 1] + x[t]) / n
    return out


def _ref_rsi(close: np.ndarray, n: int) -> np.ndarray:
    change = np.concatenate([[np.nan], np.diff(close)])
    gain = _ref_wilder(np.where(change > 0, change, 0.0), n)
    loss = _ref_wilder(np.where(change < 0, -change, 0.0), n)
    return 100.0 * gain / (gain + loss)


def _ref_macd(close: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    slow = _ref_ema(close, 26)
    fast = _ref_ema(close, 12, start=14)
    macd = fast - slow
    signal = np.concatenate([np.full(25, np.nan), _ref_ema(macd[25:], 9)])
    macd[:33] = np.nan
    return macd, signal, macd - signal


def _ref_bbands(close: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    middle = _ref_sma(close, n)
    sigma = np.full(len(close), np.nan)
    for t in range(n - 1, len(close)):
        window = close[t - n + 1 : t + 1]
        sigma[t] = (sum((v - middle[t]) ** 2 for v in window) / n) ** 0.5
    return middle + 2 * sigma, middle, middle - 2 * sigma


def _ref_atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> np.ndarray:
    true_range = np.full(len(close), np.nan)
    for t in range(1, len(close)):
        true_range[t] = max(
            high[t] - low[t], abs(high[t] - close[t - 1]), abs(low[t] - close[t - 1])
        )
    return _ref_wilder(true_range, n)


def _ref_roc(close: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(close), np.nan)
    for t in range(n, len(close)):
        out[t] = (close[t] / close[t - n] - 1) * 100
    return out


def _reference(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """Reference indicators of one symbol's bars sorted by trade_date."""
    close = bars["close"].to_numpy()
    macd, macd_signal, macd_hist = _ref_macd(close)
    bb_upper, bb_middle, bb_lower = _ref_bbands(close, 20)
    return {
        "sma_20": _ref_sma(close, 20),
        "sma_50": _ref_sma(close, 50),
        "sma_200": _ref_sma(close, 200),
        "ema_12": _ref_ema(close, 12),
        "ema_26": _ref_ema(close, 26),
        "rsi_14": _ref_rsi(close, 14),
        "macd": macd,
        "macd_signal": macd_signal,
        "macd_hist": macd_hist,
        "bb_upper": bb_upper,
        "bb_middle": bb_middle,
        "bb_lower": bb_lower,
        "atr_14": _ref_atr(bars["high"].to_numpy(), bars["low"].to_numpy(), close, 14),
        "roc_10": _ref_roc(close, 10),
    }


def _random_walk(symbol: str, seed: int, start_price: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = start_price * np.exp(np.cumsum(rng.normal(0.0, 0.015, N_ROWS)))
    open_ = np.concatenate([[start_price], close[:-1]]) * np.exp(rng.normal(0.0, 0.003, N_ROWS))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0.0, 0.01, N_ROWS)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0.0, 0.01, N_ROWS)))
    dates = pd.bdate_range("2023-01-02", periods=N_ROWS).date
    return pd.DataFrame(
        {
            "symbol": symbol,
            "trade_date": dates,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": rng.uniform(1e5, 1e6, N_ROWS),
            "vwap": close,
        }
    )


@pytest.fixture(scope="module")
def walks() -> dict[str, pd.DataFrame]:
    return {
        "AAA": _random_walk("AAA", seed=1, start_price=100.0),
        "BBB": _random_walk("BBB", 2, 5.0),
    }


@pytest.fixture(scope="module")
def shuffled_bars(walks: dict[str, pd.DataFrame]) -> pd.DataFrame:
    both = pd.concat(walks.values(), ignore_index=True)
    return both.sample(frac=1.0, random_state=7).reset_index(drop=True)


def test_matches_reference_implementation(walks, shuffled_bars) -> None:
    result = compute_indicators(shuffled_bars)

    assert list(result.columns) == INDICATORS.names
    assert list(result.index) == list(range(2 * N_ROWS))
    assert (result[list(INDICATOR_COLUMNS)].dtypes == np.float64).all()
    for symbol, bars in walks.items():
        rows = result[result["symbol"] == symbol]
        assert list(rows["trade_date"]) == list(bars["trade_date"])
        np.testing.assert_array_equal(rows["close"].to_numpy(), bars["close"].to_numpy())
        for name, expected in _reference(bars).items():
            np.testing.assert_allclose(
                rows[name].to_numpy(), expected, rtol=1e-9, atol=0, err_msg=f"{symbol} {name}"
            )


def test_warm_up_rows_are_nan_exactly(shuffled_bars) -> None:
    first_valid_row = {
        "sma_20": 19,
        "sma_50": 49,
        "sma_200": 199,
        "ema_12": 11,
        "ema_26": 25,
        "rsi_14": 14,
        "macd": 33,
        "macd_signal": 33,
        "macd_hist": 33,
        "bb_upper": 19,
        "bb_middle": 19,
        "bb_lower": 19,
        "atr_14": 14,
        "roc_10": 10,
    }
    result = compute_indicators(shuffled_bars)

    for symbol in ("AAA", "BBB"):
        rows = result[result["symbol"] == symbol]
        for name, first in first_valid_row.items():
            is_nan = rows[name].isna().to_numpy()
            assert is_nan[:first].all() and not is_nan[first:].any(), f"{symbol} {name}"


def test_linear_series_hand_computed() -> None:
    """close = 100 + t, high = close + 1, low = close - 1: every indicator has a closed form.

    An SMA-seeded EMA of a line with slope 1 lags it by exactly (N-1)/2, so
    ema_12 = close - 5.5, ema_26 = close - 12.5, macd = macd_signal = 7, macd_hist = 0.
    Only gains: rsi = 100. True range is always 2: atr = 2. The population std of 20
    consecutive integers is sqrt(399/12).
    """
    t = np.arange(250, dtype=np.float64)
    close = 100.0 + t
    bars = pd.DataFrame(
        {
            "symbol": "LIN",
            "trade_date": pd.bdate_range("2024-01-01", periods=len(t)).date,
            "open": close,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": 1.0,
        }
    )
    sigma = (399 / 12) ** 0.5

    row = compute_indicators(bars).iloc[249]

    assert row["close"] == 349.0
    assert row["sma_20"] == pytest.approx(339.5, rel=1e-12)
    assert row["sma_50"] == pytest.approx(324.5, rel=1e-12)
    assert row["sma_200"] == pytest.approx(249.5, rel=1e-12)
    assert row["ema_12"] == pytest.approx(343.5, rel=1e-12)
    assert row["ema_26"] == pytest.approx(336.5, rel=1e-12)
    assert row["rsi_14"] == pytest.approx(100.0, rel=1e-12)
    assert row["macd"] == pytest.approx(7.0, rel=1e-9)
    assert row["macd_signal"] == pytest.approx(7.0, rel=1e-9)
    assert row["macd_hist"] == pytest.approx(0.0, abs=1e-9)
    assert row["bb_middle"] == pytest.approx(339.5, rel=1e-12)
    assert row["bb_upper"] == pytest.approx(339.5 + 2 * sigma, rel=1e-9)
    assert row["bb_lower"] == pytest.approx(339.5 - 2 * sigma, rel=1e-9)
    assert row["atr_14"] == pytest.approx(2.0, rel=1e-12)
    assert row["roc_10"] == pytest.approx((349 / 339 - 1) * 100, rel=1e-12)


@pytest.mark.parametrize("cut", [0, 5, 33, 120, 199, 250, N_ROWS - 1])
def test_prefix_property(walks, shuffled_bars, cut: int) -> None:
    """The row of day D computed from the history up to D equals the full-history row."""
    full = compute_indicators(shuffled_bars)
    cut_date = walks["AAA"]["trade_date"].iloc[cut]

    prefix = compute_indicators(shuffled_bars[shuffled_bars["trade_date"] <= cut_date])

    for symbol in ("AAA", "BBB"):
        expected = full[(full["symbol"] == symbol) & (full["trade_date"] == cut_date)]
        got = prefix[prefix["symbol"] == symbol].tail(1)
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True), expected.reset_index(drop=True), check_exact=True
        )


def test_empty_input_gives_typed_empty_frame() -> None:
    empty = pd.DataFrame(columns=["symbol", "trade_date", "open", "high", "low", "close", "volume"])

    result = compute_indicators(empty)

    assert result.empty
    assert list(result.columns) == INDICATORS.names
    assert (result[["close", *INDICATOR_COLUMNS]].dtypes == np.float64).all()


def _bars(closes: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": "X",
            "trade_date": [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(len(closes))],
            "open": 10.0,
            "high": 11.0,
            "low": 9.0,
            "close": closes,
            "volume": 1.0,
        }
    )


def test_rejects_duplicate_trade_date() -> None:
    bars = _bars([10.0, 10.5, 10.2])
    bars.loc[2, "trade_date"] = bars.loc[1, "trade_date"]

    with pytest.raises(ValueError, match=r"duplicate trade_date rows for symbols \['X'\]"):
        compute_indicators(bars)


@pytest.mark.parametrize("bad", [np.nan, np.inf, 0.0, -1.0])
def test_rejects_invalid_close(bad: float) -> None:
    with pytest.raises(ValueError, match=r"non-positive close for symbols \['X'\]"):
        compute_indicators(_bars([10.0, bad, 10.2]))


def test_rejects_invalid_low() -> None:
    bars = _bars([10.0, 10.5, 10.2])
    bars.loc[0, "low"] = None

    with pytest.raises(ValueError, match="non-positive low"):
        compute_indicators(bars)


def test_rejects_missing_column() -> None:
    with pytest.raises(ValueError, match=r"missing columns \['high'\]"):
        compute_indicators(_bars([10.0]).drop(columns="high"))


def test_rejects_null_trade_date() -> None:
    bars = _bars([10.0, 10.5])
    bars.loc[1, "trade_date"] = None

    with pytest.raises(ValueError, match="null trade_date"):
        compute_indicators(bars)


def test_accepts_datetime64_trade_dates(walks, shuffled_bars) -> None:
    bars = shuffled_bars.assign(trade_date=pd.to_datetime(shuffled_bars["trade_date"]))

    result = compute_indicators(bars)

    assert result["trade_date"].dtype == "datetime64[ns]"
    rows = result[result["symbol"] == "BBB"]
    expected_dates = pd.to_datetime(walks["BBB"]["trade_date"])
    assert list(rows["trade_date"]) == list(expected_dates)
    for name, expected in _reference(walks["BBB"]).items():
        np.testing.assert_allclose(rows[name].to_numpy(), expected, rtol=1e-9, err_msg=name)


def test_duplicate_error_names_every_duplicated_symbol_sorted() -> None:
    bars = pd.concat([_bars([10.0, 10.5]).assign(symbol=symbol) for symbol in "CBA"])
    bars = pd.concat([bars, bars[bars["symbol"] != "C"].iloc[[0, 3]]], ignore_index=True)

    with pytest.raises(ValueError, match=r"duplicate trade_date rows for symbols \['A', 'B'\]$"):
        compute_indicators(bars)


def test_invalid_price_error_names_first_invalid_column_and_its_symbols() -> None:
    bars = pd.concat([_bars([10.0, 10.5]).assign(symbol=symbol) for symbol in "CBA"])
    bars = bars.reset_index(drop=True)
    bars.loc[[1, 3], "high"] = 0.0
    bars.loc[4, "close"] = np.nan

    with pytest.raises(ValueError, match=r"non-positive high for symbols \['B', 'C'\]$"):
        compute_indicators(bars)


def _arrow_typed(bars: pd.DataFrame) -> pd.DataFrame:
    """The keys as a lake read can deliver them: symbol categorical with its categories in
    reverse order (codes must not be trusted as an ordering) and trade_date as Arrow date32."""
    categories = sorted(bars["symbol"].unique(), reverse=True)
    return bars.assign(
        symbol=pd.Categorical(bars["symbol"], categories=categories),
        trade_date=bars["trade_date"].astype("date32[pyarrow]"),
    )


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_typed_keys_give_the_object_keys_result(walks, shuffled_bars, order: str) -> None:
    bars = shuffled_bars
    if order == "sorted":
        bars = bars.sort_values(["symbol", "trade_date"], ignore_index=True)
    expected = compute_indicators(bars)

    result = compute_indicators(_arrow_typed(bars))

    assert isinstance(result["symbol"].dtype, pd.CategoricalDtype)
    assert result["trade_date"].dtype == "date32[pyarrow]"
    assert list(result["symbol"].astype(str)) == list(expected["symbol"])
    assert [d.isoformat() for d in result["trade_date"]] == [
        d.isoformat() for d in expected["trade_date"]
    ]
    np.testing.assert_array_equal(
        result[list(INDICATOR_COLUMNS)].to_numpy(), expected[list(INDICATOR_COLUMNS)].to_numpy()
    )


def test_typed_keys_reject_duplicates_and_nulls() -> None:
    bars = _arrow_typed(pd.concat([_bars([10.0, 10.5]).assign(symbol=s) for s in "AB"]))
    duplicated = pd.concat([bars, bars.iloc[[3]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"duplicate trade_date rows for symbols \['B'\]$"):
        compute_indicators(duplicated)
    null_date = bars.reset_index(drop=True)
    null_date.loc[1, "trade_date"] = None
    with pytest.raises(ValueError, match="null trade_date"):
        compute_indicators(null_date)
    null_symbol = bars.reset_index(drop=True)
    null_symbol.loc[1, "symbol"] = None
    with pytest.raises(ValueError, match="null symbol"):
        compute_indicators(null_symbol)


def test_time_zone_aware_timestamps_order_by_instant() -> None:
    bars = _bars([10.0, 10.5, 10.2, 10.4])
    bars["trade_date"] = pd.to_datetime(
        ["2024-01-01 23:00", "2024-01-02 01:00", "2024-01-01 22:00", "2024-01-02 00:30"]
    ).tz_localize("UTC")

    result = compute_indicators(bars.iloc[::-1])

    assert list(result["close"]) == [10.2, 10.0, 10.4, 10.5]


@pytest.fixture(scope="module")
def many_symbols() -> pd.DataFrame:
    """200 symbols × N_ROWS rows of different lengths' worth of history each."""
    return pd.concat(
        [_random_walk(f"S{index:03d}", index, 20.0 + index) for index in range(200)],
        ignore_index=True,
    )


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_many_symbols_give_each_symbol_alone_bitwise(many_symbols, order: str) -> None:
    bars = many_symbols if order == "sorted" else many_symbols.sample(frac=1.0, random_state=3)

    result = compute_indicators(bars)

    for symbol in ("S000", "S123", "S199"):
        alone = compute_indicators(many_symbols[many_symbols["symbol"] == symbol])
        np.testing.assert_array_equal(
            result.loc[result["symbol"] == symbol, list(INDICATOR_COLUMNS)].to_numpy(),
            alone[list(INDICATOR_COLUMNS)].to_numpy(),
        )


@pytest.mark.parametrize("rows", [1, 33, 34, 199, 200])
def test_short_histories_are_nan_exactly_where_talib_is(rows: int) -> None:
    close = np.array([10.0 + (index % 7) * 0.5 for index in range(rows)])

    result = compute_indicators(_bars(close.tolist()))

    assert np.array_equal(result["sma_200"].to_numpy(), talib.SMA(close, 200), equal_nan=True)
    assert np.array_equal(result["macd"].to_numpy(), talib.MACD(close)[0], equal_nan=True)
    assert np.array_equal(result["rsi_14"].to_numpy(), talib.RSI(close), equal_nan=True)


def test_talib_call_writes_only_rows_from_its_lookback() -> None:
    close = np.arange(1.0, 11.0)
    out = np.full(10, -1.0)
    call = talib_c.TalibCall("SMA", (3,), [close], [out])

    call.run(2, 10)

    assert call.lookback == 2
    assert out.tolist() == [-1.0, -1.0, -1.0, -1.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    call.run(0, 2)
    assert out[:4].tolist() == [-1.0, -1.0, -1.0, -1.0]


def test_talib_call_raises_on_a_talib_error_code() -> None:
    close = np.arange(1.0, 11.0)
    call = talib_c.TalibCall("SMA", (100_001,), [close], [np.zeros(10)])  # beyond 100,000

    with pytest.raises(RuntimeError, match="TA_SMA failed with TA_RetCode"):
        call.run(0, 10)


def test_talib_call_refuses_non_float64_strided_or_read_only_output_arrays() -> None:
    with pytest.raises(ValueError, match="contiguous float64"):
        talib_c.TalibCall("SMA", (3,), [np.arange(10)], [np.zeros(10)])
    with pytest.raises(ValueError, match="contiguous float64"):
        talib_c.TalibCall("SMA", (3,), [np.arange(20.0)[::2]], [np.zeros(10)])
    read_only = np.zeros(10)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="writable output"):
        talib_c.TalibCall("SMA", (3,), [np.arange(10.0)], [read_only])


def test_sma_20_is_bitwise_talib_sma(walks) -> None:
    close = walks["AAA"]["close"].to_numpy()

    result = compute_indicators(walks["AAA"])

    expected = talib.SMA(close, timeperiod=20)
    assert result["sma_20"].to_numpy().tobytes() == expected.tobytes()


def test_run_codes_number_sorted_runs_and_refuse_anything_else() -> None:
    def run_codes(values: list[object]) -> list[int] | None:
        codes = _run_codes(np.array(values, dtype=object))
        return None if codes is None else codes.tolist()

    assert run_codes(["A", "A", "B", "C", "C"]) == [0, 0, 1, 2, 2]
    assert run_codes([]) == []
    assert run_codes(["B", "B", "A"]) is None
    assert run_codes(["A", "B", "A"]) is None
    assert run_codes(["A", None]) is None
    assert run_codes([None, None]) is None


@pytest.mark.parametrize("symbols", [["A", "A", None], [None, None, None]])
def test_rejects_null_object_symbol(symbols: list[str | None]) -> None:
    bars = _bars([10.0, 10.5, 10.2]).assign(symbol=symbols)

    with pytest.raises(ValueError, match="null symbol"):
        compute_indicators(bars)


def test_result_is_an_ordinary_writable_picklable_frame(walks) -> None:
    result = compute_indicators(walks["AAA"])
    expected_close = walks["AAA"]["close"].to_numpy()

    restored = pickle.loads(pickle.dumps(result))
    result.loc[0, "close"] = -1.0

    pd.testing.assert_frame_equal(restored.drop(columns="close"), result.drop(columns="close"))
    np.testing.assert_array_equal(restored["close"].to_numpy(), expected_close)
    assert result["close"].iloc[0] == -1.0
    assert walks["AAA"]["close"].iloc[0] == expected_close[0] > 0


@pytest.mark.parametrize("missing", [None, float("nan")])
def test_rejects_missing_date_among_date_objects(missing: float | None) -> None:
    bars = _bars([10.0, 10.5, 10.2])
    bars["trade_date"] = pd.Series(
        [dt.date(2024, 1, 1), missing, dt.date(2024, 1, 3)], dtype=object
    )

    with pytest.raises(ValueError, match="null trade_date"):
        compute_indicators(bars)
