"""compute_indicators on real crypto bars equals TA-Lib called directly on the same arrays.

The data is /work/shared/data/crypto_minute_2025-10-12.parquet (see its README): 1,200 real
one-minute bars per symbol for 8 crypto assets, including 43 OHLC-inconsistent vendor bars.
They are resampled to 5-minute bars (open first, high max, low min, close last, volume sum;
240 per symbol, inconsistent bars kept as they come out), and each 5-minute bar is fed to
compute_indicators as a "day" whose trade_date is the bar's open timestamp.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib

from fin_assets.analytics.indicators import compute_indicators
from fin_assets.analytics.schemas import INDICATORS

DATA_FILE = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "data"
    / "crypto_minute_2025-10-12.parquet"
)
SYMBOLS = (
    "AVALANCHE-2",
    "BITCOIN",
    "CARDANO",
    "CHAINLINK",
    "ETHEREUM",
    "POLKADOT",
    "SOLANA",
    "UNISWAP",
)
BARS_PER_SYMBOL = 240
RELATIVE_TOLERANCE = 1e-9


def _five_minute_bars() -> pd.DataFrame:
    minutes = pd.read_parquet(DATA_FILE).sort_values(["symbol", "timestamp"], kind="stable")
    return (
        minutes.assign(trade_date=minutes["timestamp"].dt.floor("5min"))
        .groupby(["symbol", "trade_date"], sort=True)
        .agg(
            open=("open", "first"),
            high=("high", "max"),
            low=("low", "min"),
            close=("close", "last"),
            volume=("volume", "sum"),
        )
        .reset_index()
    )


def _talib_columns(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """Every output column from TA-Lib on one symbol's arrays, with TA-Lib's default parameters
    except the periods the column names fix (SMA/EMA periods; BBANDS 20, not its default 5)."""
    close = bars["close"].to_numpy(dtype=np.float64)
    high = bars["high"].to_numpy(dtype=np.float64)
    low = bars["low"].to_numpy(dtype=np.float64)
    macd, macd_signal, macd_hist = talib.MACD(close)
    bb_upper, bb_middle, bb_lower = talib.BBANDS(close, timeperiod=20)
    return {
        "close": close,
        "sma_20": talib.SMA(close, timeperiod=20),
        "sma_50": talib.SMA(close, timeperiod=50),
        "sma_200": talib.SMA(close, timeperiod=200),
        "ema_12": talib.EMA(close, timeperiod=12),
        "ema_26": talib.EMA(close, timeperiod=26),
        "rsi_14": talib.RSI(close),
        "macd": macd,
        "macd_signal": macd_signal,
        "macd_hist": macd_hist,
        "bb_upper": bb_upper,
        "bb_middle": bb_middle,
        "bb_lower": bb_lower,
        "atr_14": talib.ATR(high, low, close),
        "roc_10": talib.ROC(close),
    }


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return _five_minute_bars()


@pytest.fixture(scope="module")
def indicators(bars: pd.DataFrame) -> pd.DataFrame:
    return compute_indicators(bars.sample(frac=1.0, random_state=7))


def test_resampled_bars_cover_every_symbol_and_keep_inconsistent_bars(bars: pd.DataFrame) -> None:
    assert bars.groupby("symbol").size().to_dict() == dict.fromkeys(SYMBOLS, BARS_PER_SYMBOL)
    inconsistent = (bars["high"] < bars[["open", "close"]].max(axis=1)) | (
        bars["low"] > bars[["open", "close"]].min(axis=1)
    )
    assert bars.loc[inconsistent, "symbol"].value_counts().to_dict() == {
        "UNISWAP": 2,
        "ETHEREUM": 1,
    }


def test_output_layout(bars: pd.DataFrame, indicators: pd.DataFrame) -> None:
    assert list(indicators.columns) == INDICATORS.names
    assert (indicators.dtypes.iloc[2:] == np.float64).all()
    pd.testing.assert_frame_equal(
        indicators[["symbol", "trade_date"]], bars[["symbol", "trade_date"]]
    )


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_every_column_equals_talib(
    bars: pd.DataFrame, indicators: pd.DataFrame, symbol: str
) -> None:
    result = indicators[indicators["symbol"] == symbol]
    expected = _talib_columns(bars[bars["symbol"] == symbol])
    assert set(expected) == set(INDICATORS.names) - {"symbol", "trade_date"}
    for name, reference in expected.items():
        values = result[name].to_numpy()
        np.testing.assert_array_equal(np.isnan(values), np.isnan(reference), err_msg=name)
        np.testing.assert_allclose(
            values, reference, rtol=RELATIVE_TOLERANCE, atol=0.0, equal_nan=True, err_msg=name
        )
        # The same TA-Lib C routines on the same arrays: bit for bit, not only within 1e-9.
        assert values.tobytes() == reference.tobytes(), name
    assert np.isnan(expected["sma_200"]).sum() == 199
    assert np.isnan(expected["macd"]).sum() == 33
