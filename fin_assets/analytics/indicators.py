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

from datetime import date
from itertools import pairwise

import numpy as np
import pandas as pd
import pyarrow as pa

from fin_assets.analytics import talib_c
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

    Keys that arrive typed (a categorical symbol, a datetime64 or Arrow date trade_date) are
    ordered from their integer codes; datetime.date objects are converted to days by pyarrow and
    str symbols already in order are numbered by runs, so only unsorted object keys are hashed
    (_sort_codes). Input already in (symbol, trade_date) order, the usual case, is computed in
    place without reordering.

    TA-Lib's C functions write each symbol's values straight into one preallocated float64
    block that becomes the frame's indicator columns without a copy (talib_c).
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
    values = _float_block(symbol_codes.size, 1 + len(INDICATOR_COLUMNS))
    values[:, 0] = close
    _fill_indicators(values, high, low, close, bounds)
    result = pd.DataFrame(values, columns=["close", *INDICATOR_COLUMNS], copy=False)
    for position, name in enumerate(KEY_COLUMNS):
        keys = bars[name] if order is None else bars[name].take(order)
        # A Series on the result's index goes in as it is; an array would have its dtype
        # inferred again (for object keys, a scan of every value: 3x the cost).
        result.insert(position, name, keys.set_axis(result.index, copy=False))
    return result


def _float_block(rows: int, columns: int) -> np.ndarray:
    """An uninitialised column-major float64 (rows, columns) array, so that each column's rows
    are contiguous and the whole becomes the frame's one float block.

    Its memory comes from pyarrow's default pool (mimalloc or jemalloc), which keeps freed pages
    mapped: a large block reuses the previous one's memory, where numpy's malloc maps fresh pages
    above 32 MiB that the kernel zeroes on first touch (filling 120 MB: 4 ms instead of 16 ms on
    the benchmark machine). The array keeps its buffer alive.
    """
    buffer = pa.allocate_buffer(rows * columns * np.dtype(np.float64).itemsize)
    return np.frombuffer(buffer, dtype=np.float64).reshape(columns, rows).T


# TA-Lib calls of one symbol: (function, options = TA-Lib's defaults, price inputs, the
# INDICATOR_COLUMNS it writes). sma_20 is not among them: it is copied from the middle band of
# BBANDS(matype=SMA), which TA-Lib computes with the very routine of SMA(20) (bitwise equal,
# one call saved).
TALIB_CALLS: tuple[tuple[str, tuple[float, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    ("MACD", (12, 26, 9), ("close",), ("macd", "macd_signal", "macd_hist")),
    (
        "BBANDS",
        (20, 2.0, 2.0, talib_c.MA_TYPE_SMA),
        ("close",),
        ("bb_upper", "bb_middle", "bb_lower"),
    ),
    ("SMA", (50,), ("close",), ("sma_50",)),
    ("SMA", (200,), ("close",), ("sma_200",)),
    ("EMA", (12,), ("close",), ("ema_12",)),
    ("EMA", (26,), ("close",), ("ema_26",)),
    ("RSI", (14,), ("close",), ("rsi_14",)),
    ("ATR", (14,), ("high", "low", "close"), ("atr_14",)),
    ("ROC", (10,), ("close",), ("roc_10",)),
)


def _fill_indicators(
    values: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, bounds: list[int]
) -> None:
    """Write the INDICATOR_COLUMNS of each symbol delimited by `bounds` (rows start:stop) into
    columns 1.. of `values`, in INDICATOR_COLUMNS order: the symbol's warm-up rows are set to
    NaN, then TALIB_CALLS write TA-Lib's values straight into the columns (talib_c)."""
    prices = {"high": high, "low": low, "close": close}
    columns = {
        name: values[:, position] for position, name in enumerate(INDICATOR_COLUMNS, start=1)
    }
    calls = [
        talib_c.TalibCall(
            name, options, [prices[price] for price in inputs], [columns[out] for out in outputs]
        )
        for name, options, inputs, outputs in TALIB_CALLS
    ]
    warm_up = max(call.lookback for call in calls)
    for start, stop in pairwise(bounds):
        values[start : min(stop, start + warm_up), 1:] = np.nan
        for call in calls:
            call.run(start, stop)
    sma_20, bb_middle = (1 + INDICATOR_COLUMNS.index(name) for name in ("sma_20", "bb_middle"))
    values[:, sma_20] = values[:, bb_middle]


def _sort_codes(column: pd.Series) -> np.ndarray:
    """Integer codes of `column` that order as its values do; raises ValueError on a null value.

    A categorical's codes (kept in their own small integer type) are remapped to the sorted
    order of its categories when those are not sorted; datetime64 and Arrow date/timestamp
    values are their integer representation; datetime.date objects (what Table.to_pandas()
    makes of a date32 column; a datetime among them counts as its date) become days since the
    epoch, converted by pyarrow in C; anything else (Python str objects) is coded by runs of
    equal values when already sorted (_run_codes), else factorized with sort=True.
    """
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = column.array.codes
        if codes.size and codes.min() < 0:
            raise _null_error(column)
        if not dtype.categories.is_monotonic_increasing:
            codes = np.argsort(np.argsort(dtype.categories.to_numpy()))[codes]
        return codes
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_temporal(dtype.pyarrow_dtype):
        values = column.array.__arrow_array__()
        if values.null_count:
            raise _null_error(column)
        return values.cast(pa.int32() if pa.types.is_date32(values.type) else pa.int64()).to_numpy()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        codes = pd.DatetimeIndex(column).asi8  # UTC nanoseconds when time-zone aware
        if (codes == np.iinfo(np.int64).min).any():
            raise _null_error(column)
        return codes
    days = _days(column)
    if days is not None:
        return days
    codes = _run_codes(column.to_numpy())
    if codes is None:
        codes, _ = pd.factorize(column, sort=True)
        if (codes < 0).any():
            raise _null_error(column)
    return codes


def _null_error(column: pd.Series) -> ValueError:
    """The error compute_indicators raises for a null key in `column`."""
    return ValueError(f"bars has null {column.name} values")


def _run_codes(values: np.ndarray) -> np.ndarray | None:
    """0, 1, 2, ... numbering the runs of equal adjacent values, when each run's value is
    greater than the previous run's and none is null (the column is sorted, as bars usually
    are), else None. One elementwise comparison instead of hashing every value."""
    if values.size == 0:
        return np.zeros(0, dtype=np.intp)
    starts = np.flatnonzero(values[1:] != values[:-1]) + 1
    heads = values[np.concatenate(([0], starts))]
    try:
        ascending = bool((heads[1:] > heads[:-1]).all())
    except TypeError:  # values that do not compare, such as None and str
        return None
    if not ascending or pd.isna(heads).any():
        return None
    steps = np.zeros(values.size, dtype=np.intp)
    steps[starts] = 1
    return np.cumsum(steps)


def _days(column: pd.Series) -> np.ndarray | None:
    """Days since the epoch of an object column of datetime.date values (a datetime among them
    counts as its date), converted by pyarrow in C, 10x faster than hashing and sorting the
    objects; None when the column holds anything else. Raises ValueError on a null."""
    if column.dtype != object or column.size == 0 or type(column.iloc[0]) is not date:
        return None
    try:
        days = pa.array(column.to_numpy(), type=pa.date32())
    except (TypeError, ValueError):  # not dates after all, such as a str or a NaN
        return None
    if days.null_count:
        raise _null_error(column)
    return days.view(pa.int32()).to_numpy()


def _sort_order(
    symbol_codes: np.ndarray, date_codes: np.ndarray, symbols: pd.Series
) -> tuple[np.ndarray | None, list[int]]:
    """Row positions in (symbol, trade_date) order (None when the rows already are in that
    order) and the positions in that order where each symbol's rows start, followed by the row
    count. Raises ValueError on a duplicate (symbol, trade_date)."""
    later_symbol = symbol_codes[1:] > symbol_codes[:-1]
    later_date = date_codes[1:] > date_codes[:-1]
    # Sorted without duplicates, the usual case: each row starts a symbol or has a later date.
    if (later_symbol | later_date).all() and not (symbol_codes[1:] < symbol_codes[:-1]).any():
        return None, [0, *(np.flatnonzero(later_symbol) + 1).tolist(), symbol_codes.size]
    order = np.lexsort((date_codes, symbol_codes))
    symbol_codes, date_codes = symbol_codes[order], date_codes[order]
    new_symbol = symbol_codes[1:] != symbol_codes[:-1]
    repeated = ~new_symbol & (date_codes[1:] == date_codes[:-1])
    if repeated.any():
        raise ValueError(
            "bars has duplicate trade_date rows for symbols "
            f"{_symbols_where(symbols.to_numpy()[order][1:], repeated)}"
        )
    return order, [0, *(np.flatnonzero(new_symbol) + 1).tolist(), symbol_codes.size]


def _validated_prices(bars: pd.DataFrame) -> list[np.ndarray]:
    """PRICE_COLUMNS of `bars` as contiguous float64 arrays (views when the frame holds them so);
    raise ValueError naming the first column with a NaN, non-finite or non-positive value and
    the symbols that have one."""
    prices = []
    for name in PRICE_COLUMNS:
        column = bars[name]
        values = np.ascontiguousarray(
            column.to_numpy()
            if column.dtype == np.float64
            else column.to_numpy(dtype=np.float64, na_value=np.nan)
        )
        # min and max propagate NaN, which fails both comparisons: one pass each, no mask.
        if values.size and not (values.min() > 0 and values.max() < np.inf):
            invalid = ~((values > 0) & (values < np.inf))
            raise ValueError(
                f"bars has NaN, non-finite or non-positive {name} for symbols "
                f"{_symbols_where(bars['symbol'].to_numpy(), invalid)}"
            )
        prices.append(values)
    return prices


def _symbols_where(symbols: np.ndarray, mask: np.ndarray) -> list[object]:
    """Sorted distinct symbols of the rows selected by `mask`, for error messages."""
    return sorted(pd.unique(symbols[mask]))
