"""Tests of compute_signals on small hand-built indicator frames."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fin_assets.analytics.schemas import INDICATOR_COLUMNS, INDICATORS, SIGNALS
from fin_assets.analytics.signals import SIGNAL_NAMES, compute_signals

NAN = np.nan
START = dt.date(2024, 3, 1)


def _day(i: int) -> dt.date:
    return START + dt.timedelta(days=i)


def _indicators(symbol: str, **columns: list[float]) -> pd.DataFrame:
    """An INDICATORS frame for `symbol` on days 0..n-1; columns not given are NaN."""
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({"symbol": symbol, "trade_date": [_day(i) for i in range(n)]})
    for name in ("close", *INDICATOR_COLUMNS):
        frame[name] = np.asarray(columns.get(name, [NAN] * n), dtype=np.float64)
    return frame[INDICATORS.names]


def _expected(rows: list[tuple[str, int, str, int, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            (symbol, _day(i), signal, direction, value)
            for symbol, i, signal, direction, value in rows
        ],
        columns=SIGNALS.names,
    )
    return frame.astype({"direction": "int8", "value": "float64"})


def test_signal_names() -> None:
    assert SIGNAL_NAMES == (
        "golden_cross",
        "death_cross",
        "rsi_overbought",
        "rsi_oversold",
        "macd_bullish_cross",
        "macd_bearish_cross",
        "bb_upper_breakout",
        "bb_lower_breakout",
        "momentum_up",
        "momentum_down",
    )


def test_each_crossing_fires_on_the_crossing_row_only() -> None:
    """Touching a level (equality) is not a crossing; leaving it from equality is."""
    frame = _indicators(
        "AAA",
        sma_50=[1.0, 2.0, 3.0, 2.0, 2.0],
        sma_200=[2.0, 2.0, 2.0, 2.0, 3.0],
        rsi_14=[60.0, 70.0, 71.0, 29.0, 31.0],
        macd=[-1.0, 0.5, 0.2, -0.3, -0.4],
        macd_signal=[0.0, 0.0, 0.1, 0.0, -0.5],
        close=[10.0, 12.0, 11.0, 8.0, 10.0],
        bb_upper=[11.0, 11.0, 11.5, 11.0, 11.0],
        bb_lower=[9.0, 9.0, 9.0, 9.0, 9.0],
        roc_10=[-1.0, 0.0, 1.0, 0.0, -2.0],
    )

    result = compute_signals(frame)

    expected = _expected(
        [
            ("AAA", 1, "bb_upper_breakout", 1, 12.0),
            ("AAA", 1, "macd_bullish_cross", 1, 0.5),
            ("AAA", 2, "golden_cross", 1, 3.0),
            ("AAA", 2, "momentum_up", 1, 1.0),
            ("AAA", 2, "rsi_overbought", -1, 71.0),
            ("AAA", 3, "bb_lower_breakout", -1, 8.0),
            ("AAA", 3, "macd_bearish_cross", -1, -0.3),
            ("AAA", 3, "rsi_oversold", 1, 29.0),
            ("AAA", 4, "death_cross", -1, 2.0),
            ("AAA", 4, "macd_bullish_cross", 1, -0.4),
            ("AAA", 4, "momentum_down", -1, -2.0),
        ]
    )
    pd.testing.assert_frame_equal(result, expected)


def test_nan_on_either_row_never_fires() -> None:
    frame = _indicators(
        "AAA",
        rsi_14=[50.0, NAN, 80.0, 65.0, 75.0, NAN, 20.0, 25.0],
        sma_50=[1.0, 3.0, NAN, 1.0, 3.0, 3.0, 3.0, 3.0],
        sma_200=[2.0, 2.0, 2.0, 2.0, NAN, 2.0, 2.0, 2.0],
    )

    result = compute_signals(frame)

    expected = _expected(
        [
            ("AAA", 1, "golden_cross", 1, 3.0),
            ("AAA", 4, "rsi_overbought", -1, 75.0),
        ]
    )
    pd.testing.assert_frame_equal(result, expected)


def test_symbols_do_not_cross_into_each_other_and_row_order_is_irrelevant() -> None:
    """BBB's first row would cross AAA's last row if the symbols were not kept apart."""
    aaa = _indicators("AAA", rsi_14=[50.0, 60.0, 20.0], roc_10=[-1.0, -2.0, -3.0])
    bbb = _indicators("BBB", rsi_14=[80.0, 75.0, 65.0], roc_10=[5.0, -1.0, 2.0])
    shuffled = pd.concat([bbb, aaa], ignore_index=True).sample(frac=1.0, random_state=3)

    result = compute_signals(shuffled)

    expected = _expected(
        [
            ("AAA", 2, "rsi_oversold", 1, 20.0),
            ("BBB", 1, "momentum_down", -1, -1.0),
            ("BBB", 2, "momentum_up", 1, 2.0),
        ]
    )
    pd.testing.assert_frame_equal(result, expected)


def test_first_row_never_fires() -> None:
    frame = _indicators("AAA", rsi_14=[90.0], roc_10=[3.0], sma_50=[2.0], sma_200=[1.0])

    assert compute_signals(frame).empty


@pytest.mark.parametrize("rows", [0, 40])
def test_no_signal_gives_typed_empty_frame(rows: int) -> None:
    frame = _indicators("AAA", rsi_14=[50.0] * rows)

    result = compute_signals(frame)

    assert result.empty
    assert list(result.columns) == SIGNALS.names
    assert result["direction"].dtype == np.int8
    assert result["value"].dtype == np.float64


def test_rejects_duplicate_trade_date() -> None:
    frame = _indicators("AAA", rsi_14=[50.0, 60.0])
    frame.loc[1, "trade_date"] = frame.loc[0, "trade_date"]

    with pytest.raises(ValueError, match=r"duplicate trade_date rows for symbols \['AAA'\]"):
        compute_signals(frame)


def test_rejects_missing_column() -> None:
    frame = _indicators("AAA", rsi_14=[50.0]).drop(columns="macd_signal")

    with pytest.raises(ValueError, match=r"missing columns \['macd_signal'\]"):
        compute_signals(frame)
