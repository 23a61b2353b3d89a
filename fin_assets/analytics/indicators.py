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
import pyarrow as pa
import talib

from fin_assets.analytics.schemas import INDICATOR_COLUMNS, INDICATORS

KEY_COLUMNS = ("symbol", "trade_date")
PRICE_COLUMNS = ("open", "high", "low", "close")


def compute_indicators(bars: pd.DataFrame) -> pd.DataFrame:
    """Compute the INDICATORS columns for daily bars of one or many symbols.

    `bars` needs symbol, trade_date, open, high, low, close (volume and other columns are
    ignored), in any row order. Each symbol is computed on its own rows in trade_date order with
    TA-Lib's defaults (conventions in the module docstring). Returns one row per input row, sorted
    by (symbol, trade_date), index reset, columns exactly `INDICATORS.names`; symbol and
    trade_date values and dtypes are passed through unchanged, indicator columns are float64.
    Raises ValueError on a missing column, a null symbol or trade_date, a duplicate
    (symbol, trade_date) or a NaN, non-finite or non-positive open/high/low/close.

    Keys that arrive typed (a categorical symbol, a datetime64 or Arrow date trade_date, as a
    lake read delivers them) are ordered from their integer codes without hashing; Python
    objects (str, datetime.date) are factorized first. Input already in (symbol, trade_date)
    order, the usual case, is computed in place without reordering.
    """
    missing = [name for name in (*KEY_COLUMNS, *PRICE_COLUMNS) if name not in bars.columns]
    if missing:
        raise ValueError(f"bars is missing columns {missing}")
    symbol_codes = _sort_codes(bars["symbol"])
    date_codes = _sort_codes(bars["trade_date"])
    order, bounds = _sort_order(symbol_codes, date_codes, bars["symbol"])
    prices = _validated_prices(bars)
    if symbol_codes.size == 0:
        return INDICATORS.empty_table().to_pandas()
    high, low, close = prices[1:] if order is None else (values[order] for values in prices[1:])
    # Column-major, so each indicator's rows are contiguous and become the frame's one block.
    values = np.empty((symbol_codes.size, 1 + len(INDICATOR_COLUMNS)), order="F")
    values[:, 0] = close
    for start, stop in pairwise(bounds):
        indicators = symbol_indicators(high[start:stop], low[start:stop], close[start:stop])
        for position, name in enumerate(INDICATOR_COLUMNS, start=1):
            values[start:stop, position] = indicators[name]
    result = pd.DataFrame(values, columns=["close", *INDICATOR_COLUMNS], copy=False)
    for position, name in enumerate(KEY_COLUMNS):
        keys = bars[name].array
        result.insert(position, name, keys if order is None else keys.take(order))
    return result


def _sort_codes(column: pd.Series) -> np.ndarray:
    """int64 codes of `column` that order as its values do; raises ValueError on a null value.

    A categorical's codes are remapped to the sorted order of its categories; datetime64 and
    Arrow date/timestamp values are their integer representation; anything else (Python str or
    datetime.date objects) is factorized with sort=True.
    """
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        null = codes < 0
        categories = column.cat.categories
        if categories.is_monotonic_increasing:
            codes = codes.astype(np.int64)
        else:
            codes = np.argsort(np.argsort(categories.to_numpy()))[codes]
    elif isinstance(dtype, pd.ArrowDtype) and pa.types.is_temporal(dtype.pyarrow_dtype):
        values = column.array.__arrow_array__()
        null = np.array([values.null_count > 0])
        integers = pa.int32() if pa.types.is_date32(values.type) else pa.int64()
        codes = values.cast(integers).fill_null(0).to_numpy().astype(np.int64)
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        codes = pd.DatetimeIndex(column).asi8  # UTC nanoseconds when time-zone aware
        null = codes == np.iinfo(np.int64).min
    else:
        codes, _ = pd.factorize(column, sort=True)
        null = codes < 0
        codes = codes.astype(np.int64)
    if null.any():
        raise ValueError(f"bars has null {column.name} values")
    return codes


def _sort_order(
    symbol_codes: np.ndarray, date_codes: np.ndarray, symbols: pd.Series
) -> tuple[np.ndarray | None, list[int]]:
    """Row positions in (symbol, trade_date) order (None when the rows already are in that
    order) and the positions in that order where each symbol's rows start, followed by the row
    count. Raises ValueError on a duplicate (symbol, trade_date)."""
    order: np.ndarray | None = None
    if not _ascending(symbol_codes, date_codes):
        order = np.lexsort((date_codes, symbol_codes))
        symbol_codes, date_codes = symbol_codes[order], date_codes[order]
    new_symbol = symbol_codes[1:] != symbol_codes[:-1]
    repeated = ~new_symbol & (date_codes[1:] == date_codes[:-1])
    if repeated.any():
        ordered = symbols.to_numpy() if order is None else symbols.to_numpy()[order]
        raise ValueError(
            "bars has duplicate trade_date rows for symbols "
            f"{_symbols_where(ordered[1:], repeated)}"
        )
    return order, [0, *(np.flatnonzero(new_symbol) + 1).tolist(), symbol_codes.size]


def _ascending(symbol_codes: np.ndarray, date_codes: np.ndarray) -> bool:
    """True when rows are in (symbol, trade_date) order, ties allowed (reported as duplicates)."""
    later_symbol = symbol_codes[1:] > symbol_codes[:-1]
    same_symbol = symbol_codes[1:] == symbol_codes[:-1]
    return bool((later_symbol | (same_symbol & (date_codes[1:] >= date_codes[:-1]))).all())


def _validated_prices(bars: pd.DataFrame) -> list[np.ndarray]:
    """PRICE_COLUMNS of `bars` as contiguous float64 arrays (views when the frame holds them so);
    raise ValueError naming the first column with a NaN, non-finite or non-positive value and
    the symbols that have one."""
    prices = [
        np.ascontiguousarray(bars[name].to_numpy(dtype=np.float64, na_value=np.nan))
        for name in PRICE_COLUMNS
    ]
    for name, values in zip(PRICE_COLUMNS, prices, strict=True):
        # NaN and -inf fail `> 0`, +inf fails `< inf`: one mask for all four conditions.
        invalid = ~((values > 0) & (values < np.inf))
        if invalid.any():
            raise ValueError(
                f"bars has NaN, non-finite or non-positive {name} for symbols "
                f"{_symbols_where(bars['symbol'].to_numpy(), invalid)}"
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
