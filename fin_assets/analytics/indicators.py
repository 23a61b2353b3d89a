"""Technical indicators of daily bars, computed per symbol with TA-Lib's default settings.

Every indicator is causal and seeded from the first rows of the symbol's history, so the value on
day D depends only on the bars up to D: computing over a prefix of the history ending at D gives
the same row D as computing over the whole history. Rows before an indicator has enough history
(its warm-up) are NaN, exactly where TA-Lib puts them. Indices below count rows of one symbol
from 0, in trade_date order.

- sma_N (N = 20, 50, 200): simple mean of the last N closes; first value at row N-1.
- ema_N (N = 12, 26): alpha = 2/(N+1), seeded at row N-1 with the simple mean of the first N
  closes, then ema[t] = ema[t-1] + alpha * (close[t] - ema[t-1]).
- rsi_14: changes d[t] = close[t] - close[t-1]; average gain and loss seeded at row 14 with the
  simple mean of the gains and losses of d[1..14], then Wilder smoothing
  avg[t] = (13 * avg[t-1] + x[t]) / 14; rsi = 100 * gain / (gain + loss) (0 when both are 0).
- macd, macd_signal, macd_hist: MACD(12, 26, 9) with TA-Lib's aligned seeding: the slow EMA 26
  is seeded at row 25 with the mean of closes 0..25, and the fast EMA 12 is seeded at the same
  row 25 with the mean of closes 14..25; macd = fast - slow from row 25; macd_signal is the EMA 9
  of macd seeded at row 33 with the mean of macd 25..33; macd_hist = macd - macd_signal. All
  three are reported from row 33 (NaN before).
- bb_upper, bb_middle, bb_lower: Bollinger(20, 2, 2, SMA): middle = sma_20, bands = middle
  +/- 2 population standard deviations (divisor 20) of the last 20 closes; first value at row 19.
- atr_14: true range tr[t] = max(high - low, |high - close[t-1]|, |low - close[t-1]|) for t >= 1;
  seeded at row 14 with the mean of tr[1..14], then Wilder smoothing (13 * atr + tr) / 14.
- roc_10: (close[t] / close[t-10] - 1) * 100; first value at row 10.

Gaps: TA-Lib propagates an interior NaN to every later value, so the input must have no NaN,
non-finite or non-positive open/high/low/close and no duplicate (symbol, trade_date). A day
without a session has no row, so daily bars have no interior gaps by construction.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import talib

from fin_assets.analytics.schemas import INDICATOR_COLUMNS, INDICATORS

KEY_COLUMNS = ("symbol", "trade_date")
PRICE_COLUMNS = ("open", "high", "low", "close")


def compute_indicators(bars: pd.DataFrame) -> pd.DataFrame:
    """Compute the INDICATORS columns for daily bars of one or many symbols.

    `bars` needs symbol, trade_date, open, high, low, close (volume and other columns are
    ignored), in any row order. Each symbol is computed on its own rows in trade_date order with
    TA-Lib's defaults (conventions in the module docstring). Returns one row per input row, sorted
    by (symbol, trade_date), index reset, columns exactly `INDICATORS.names`; trade_date values
    are passed through unchanged, indicator columns are float64. Raises ValueError on a missing
    column, a null symbol or trade_date, a duplicate (symbol, trade_date) or a NaN, non-finite or
    non-positive open/high/low/close.
    """
    missing = [name for name in (*KEY_COLUMNS, *PRICE_COLUMNS) if name not in bars.columns]
    if missing:
        raise ValueError(f"bars is missing columns {missing}")
    symbols = bars["symbol"].to_numpy()
    order, bounds = _sort_order(bars, symbols)
    prices = _validated_prices(bars, symbols)
    if order.size == 0:
        return INDICATORS.empty_table().to_pandas()
    high, low, close = prices[1:, order]
    values = np.empty((1 + len(INDICATOR_COLUMNS), order.size))
    values[0] = close
    for start, stop in pairwise(bounds):
        indicators = symbol_indicators(high[start:stop], low[start:stop], close[start:stop])
        values[1:, start:stop] = [indicators[name] for name in INDICATOR_COLUMNS]
    result = pd.DataFrame(values.T, columns=["close", *INDICATOR_COLUMNS])
    result.insert(0, "symbol", symbols[order])
    result.insert(1, "trade_date", bars["trade_date"].to_numpy()[order])
    return result


def _sort_order(bars: pd.DataFrame, symbols: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Row positions of `bars` in (symbol, trade_date) order, and the positions in that order
    where each symbol's rows start, followed by the row count. Raises ValueError on a null
    symbol or trade_date or a duplicate (symbol, trade_date)."""
    symbol_codes, _ = _sorted_codes(bars["symbol"])
    date_codes, date_count = _sorted_codes(bars["trade_date"])
    order = np.argsort(symbol_codes * date_count + date_codes)
    symbol_codes, date_codes = symbol_codes[order], date_codes[order]
    new_symbol = symbol_codes[1:] != symbol_codes[:-1]
    repeated = ~new_symbol & (date_codes[1:] == date_codes[:-1])
    if repeated.any():
        raise ValueError(
            "bars has duplicate trade_date rows for symbols "
            f"{_symbols_where(symbols[order][1:], repeated)}"
        )
    return order, [0, *(np.flatnonzero(new_symbol) + 1).tolist(), order.size]


def _sorted_codes(column: pd.Series) -> tuple[np.ndarray, int]:
    """int64 codes of `column` numbering its distinct values in sorted order, and their count;
    raises ValueError on a null value."""
    codes, uniques = pd.factorize(column, sort=True)
    if (codes < 0).any():
        raise ValueError(f"bars has null {column.name} values")
    return codes.astype(np.int64), len(uniques)


def _validated_prices(bars: pd.DataFrame, symbols: np.ndarray) -> np.ndarray:
    """PRICE_COLUMNS of `bars` as float64 rows (shape 4 x rows); raise ValueError naming the
    first column with a NaN, non-finite or non-positive value and the symbols that have one."""
    prices = bars[list(PRICE_COLUMNS)].to_numpy(dtype=np.float64, na_value=np.nan).T
    invalid = ~(np.isfinite(prices) & (prices > 0))
    for name, column_invalid in zip(PRICE_COLUMNS, invalid, strict=True):
        if column_invalid.any():
            raise ValueError(
                f"bars has NaN, non-finite or non-positive {name} for symbols "
                f"{_symbols_where(symbols, column_invalid)}"
            )
    return prices


def _symbols_where(symbols: np.ndarray, mask: np.ndarray) -> list[object]:
    """Sorted distinct symbols of the rows selected by `mask`, for error messages."""
    return sorted(pd.unique(symbols[mask]))


def symbol_indicators(
    high: np.ndarray, low: np.ndarray, close: np.ndarray
) -> dict[str, np.ndarray]:
    """INDICATOR_COLUMNS of one symbol's float64 bars, already sorted by trade_date."""
    macd, macd_signal, macd_hist = talib.MACD(close, fastperiod=12, slowperiod=26, signalperiod=9)
    bb_upper, bb_middle, bb_lower = talib.BBANDS(
        close, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0
    )
    return {
        "sma_20": talib.SMA(close, timeperiod=20),
        "sma_50": talib.SMA(close, timeperiod=50),
        "sma_200": talib.SMA(close, timeperiod=200),
        "ema_12": talib.EMA(close, timeperiod=12),
        "ema_26": talib.EMA(close, timeperiod=26),
        "rsi_14": talib.RSI(close, timeperiod=14),
        "macd": macd,
        "macd_signal": macd_signal,
        "macd_hist": macd_hist,
        "bb_upper": bb_upper,
        "bb_middle": bb_middle,
        "bb_lower": bb_lower,
        "atr_14": talib.ATR(high, low, close, timeperiod=14),
        "roc_10": talib.ROC(close, timeperiod=10),
    }
