"""Anomaly detection over daily bars: return outliers, volume spikes, stale prices, calendar gaps.

Every detector takes DAILY_BARS rows (symbol, trade_date and the price columns it uses; one or
many symbols, any row order) and returns the rows it flags in the ANOMALIES long format: one row
per (symbol, trade_date, anomaly), sorted by (symbol, trade_date, anomaly), index reset.

Conventions shared by every detector:

- A symbol's rows are taken in trade_date order; "previous rows" are the rows of the same
  symbol strictly before the current one. A missing session is not filled: the return across
  it is the return between the two rows present (calendar_gap reports the hole itself).
- A statistic over the previous `window` rows needs a full window: at least `window` previous
  rows of the symbol, none of them NaN. Rows without one are never flagged.
- Comparisons with NaN are false, so a NaN value is never flagged.
- Simple returns r_t = close_t / close_{t-1} - 1 (prices are expected positive; see
  quality.check_positive_prices).

Bad arguments raise ValueError: a missing or non-numeric column, a null symbol or trade_date, a
trade_date with a time of day, a duplicate (symbol, trade_date), a window below 1, a threshold
that is not a finite positive number, a stale_run below 2, a symbol absent from `calendars`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from fin_assets.analytics.market_calendar import sessions_in_range
from fin_assets.analytics.schemas import ANOMALIES

ANOMALY_KINDS = ("return_outlier", "volume_spike", "stale_price", "calendar_gap")
MAD_SCALE = 1.4826
"""Scales the median absolute deviation to a standard deviation for normal data."""

KEY_COLUMNS = ("symbol", "trade_date")
SORT_COLUMNS = ["symbol", "trade_date", "anomaly"]


def detect_anomalies(
    daily_bars: pd.DataFrame,
    calendars: Mapping[str, str],
    *,
    window: int = 60,
    z_threshold: float = 5.0,
    volume_threshold: float = 5.0,
    stale_run: int = 3,
) -> pd.DataFrame:
    """Every anomaly of ANOMALY_KINDS in `daily_bars`, in ANOMALIES long format.

    The union of return_outliers, volume_spikes (both over the same `window`), stale_prices and
    calendar_gaps; see each for its rule, value and threshold. `calendars` maps every symbol to
    an exchange_calendars name ("XNYS", "24/7").
    """
    found = [
        return_outliers(daily_bars, window=window, z_threshold=z_threshold),
        volume_spikes(daily_bars, window=window, volume_threshold=volume_threshold),
        stale_prices(daily_bars, stale_run=stale_run),
        calendar_gaps(daily_bars, calendars),
    ]
    return _anomaly_frame(pd.concat(found, ignore_index=True))


def return_outliers(
    daily_bars: pd.DataFrame, *, window: int = 60, z_threshold: float = 5.0
) -> pd.DataFrame:
    """Anomaly "return_outlier": a daily return far from the previous `window` returns.

    z_t = (r_t - median) / (MAD_SCALE * MAD), where median and MAD (median absolute deviation
    from that median) are taken over the `window` returns before r_t, r_t excluded. Flagged when
    |z_t| > z_threshold; value = z_t, threshold = z_threshold. A symbol's first return is at its
    second row, so its first candidate is its row `window + 1` (0-based). A window whose MAD is
    0 (more than half its returns equal) gives no z: such rows are never flagged.
    """
    _check_window(window)
    _check_positive("z_threshold", z_threshold)
    bars = _prepared(daily_bars, ("close",))
    close = bars["close"].to_numpy()
    returns = close / bars.groupby("symbol", sort=False)["close"].shift(1).to_numpy() - 1.0
    previous = _previous_windows(bars, returns, window)
    median = np.median(previous, axis=1)
    mad = np.median(np.abs(previous - median[:, np.newaxis]), axis=1)
    scale = MAD_SCALE * mad
    z = np.divide(returns - median, scale, out=np.full(len(bars), np.nan), where=scale > 0)
    flagged = np.abs(z) > z_threshold
    details = [
        f"return {r:+.4%} vs median {m:+.4%} and MAD {d:.4%} of the previous {window} returns"
        for r, m, d in zip(returns[flagged], median[flagged], mad[flagged], strict=True)
    ]
    return _flagged_rows(bars, flagged, "return_outlier", z, z_threshold, details)


def volume_spikes(
    daily_bars: pd.DataFrame, *, window: int = 60, volume_threshold: float = 5.0
) -> pd.DataFrame:
    """Anomaly "volume_spike": volume far above its median over the previous `window` rows.

    ratio_t = volume_t / median(volume of the `window` rows before t), t excluded. Flagged when
    ratio_t > volume_threshold; value = ratio_t, threshold = volume_threshold. A median of 0
    gives no ratio: such rows are never flagged.
    """
    _check_window(window)
    _check_positive("volume_threshold", volume_threshold)
    bars = _prepared(daily_bars, ("volume",))
    volume = bars["volume"].to_numpy()
    median = np.median(_previous_windows(bars, volume, window), axis=1)
    ratio = np.divide(volume, median, out=np.full(len(bars), np.nan), where=median > 0)
    flagged = ratio > volume_threshold
    details = [
        f"volume {v:.6g} is {q:.2f}x the median {m:.6g} of the previous {window} rows"
        for v, q, m in zip(volume[flagged], ratio[flagged], median[flagged], strict=True)
    ]
    return _flagged_rows(bars, flagged, "volume_spike", ratio, volume_threshold, details)


def stale_prices(daily_bars: pd.DataFrame, *, stale_run: int = 3) -> pd.DataFrame:
    """Anomaly "stale_price": the same close on `stale_run` or more consecutive rows.

    A run is a maximal sequence of consecutive rows of a symbol whose closes are exactly equal
    (a NaN close ends a run and starts none). Each row from the run's `stale_run`-th onward is
    flagged; value = the run's length up to and including that row, threshold = stale_run.
    """
    if stale_run < 2:
        raise ValueError(f"stale_run must be at least 2, got {stale_run}")
    bars = _prepared(daily_bars, ("close",))
    close = bars["close"]
    same = close == close.groupby(bars["symbol"], sort=False).shift(1)
    run_length = (same.groupby((~same).cumsum()).cumcount() + 1).to_numpy()
    flagged = run_length >= stale_run
    details = [
        f"close {c:.10g} unchanged for {n} consecutive rows"
        for c, n in zip(close.to_numpy()[flagged], run_length[flagged], strict=True)
    ]
    value = run_length.astype("float64")
    return _flagged_rows(bars, flagged, "stale_price", value, float(stale_run), details)


def calendar_gaps(daily_bars: pd.DataFrame, calendars: Mapping[str, str]) -> pd.DataFrame:
    """Anomaly "calendar_gap": a session of the symbol's calendar with no row.

    For each symbol, every session of `calendars[symbol]` from its first to its last trade_date
    (both inclusive) without a row is one anomaly dated that session; value and threshold are
    NaN. Sessions before the first or after the last row are not gaps; rows on days that are not
    sessions are ignored (not this detector's business).
    """
    bars = _prepared(daily_bars, ())
    symbols = bars["symbol"].unique()
    unknown = [symbol for symbol in symbols if symbol not in calendars]
    if unknown:
        raise ValueError(f"calendars has no calendar for symbols {unknown}")
    rows = []
    for symbol, dates in bars.groupby("symbol", sort=False)["trade_date"]:
        calendar = calendars[symbol]
        present = set(dates)
        for day in sessions_in_range(calendar, dates.iloc[0], dates.iloc[-1]):
            if day not in present:
                rows.append((symbol, day, f"no bar on {calendar} session {day}"))
    gaps = pd.DataFrame(rows, columns=["symbol", "trade_date", "detail"])
    gaps.insert(2, "anomaly", "calendar_gap")
    gaps.insert(3, "value", np.nan)
    gaps.insert(4, "threshold", np.nan)
    return _anomaly_frame(gaps)


def _prepared(daily_bars: pd.DataFrame, numeric: Sequence[str]) -> pd.DataFrame:
    """symbol, trade_date (datetime.date) and the `numeric` columns (float64), sorted by key.

    Raises ValueError on a missing or non-numeric column, a null key, a trade_date with a time
    of day or a duplicate (symbol, trade_date).
    """
    missing = [name for name in (*KEY_COLUMNS, *numeric) if name not in daily_bars.columns]
    if missing:
        raise ValueError(f"daily_bars is missing columns {missing}")
    for name in numeric:
        column = daily_bars[name]
        if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
            raise ValueError(f"daily_bars column {name!r} must be numeric, got {column.dtype}")
    if daily_bars["symbol"].isna().any():
        raise ValueError("daily_bars has null symbols")
    stamps = pd.to_datetime(daily_bars["trade_date"])
    if stamps.isna().any():
        raise ValueError("daily_bars has null trade_date values")
    if (stamps != stamps.dt.normalize()).any():
        raise ValueError("daily_bars trade_date values must be dates, found a time of day")
    bars = pd.DataFrame({"symbol": daily_bars["symbol"].astype(object), "stamp": stamps})
    for name in numeric:
        bars[name] = daily_bars[name].astype("float64")
    duplicated = bars.duplicated(["symbol", "stamp"], keep=False)
    if duplicated.any():
        symbols = sorted(bars.loc[duplicated, "symbol"].unique())
        raise ValueError(f"daily_bars has duplicate trade_date rows for symbols {symbols}")
    bars = bars.sort_values(["symbol", "stamp"], kind="stable").reset_index(drop=True)
    bars.insert(1, "trade_date", bars.pop("stamp").dt.date)
    return bars


def _previous_windows(bars: pd.DataFrame, values: np.ndarray, window: int) -> np.ndarray:
    """(len(bars), window) array: row t holds the `window` values before t of t's symbol.

    `bars` is sorted by symbol then date (as `_prepared` returns it) and `values` is aligned
    with it. Rows with fewer than `window` previous rows of their symbol are all NaN.
    """
    padded = np.concatenate([np.full(window, np.nan), values])
    windows = sliding_window_view(padded, window)[: len(values)]
    position = bars.groupby("symbol", sort=False).cumcount().to_numpy()
    return np.where((position >= window)[:, np.newaxis], windows, np.nan)


def _flagged_rows(
    bars: pd.DataFrame,
    flagged: np.ndarray,
    anomaly: str,
    value: np.ndarray,
    threshold: float,
    details: list[str],
) -> pd.DataFrame:
    """ANOMALIES rows of `anomaly` for the rows of `bars` where `flagged` is True."""
    rows = pd.DataFrame(
        {
            "symbol": bars["symbol"].to_numpy()[flagged],
            "trade_date": bars["trade_date"].to_numpy()[flagged],
            "anomaly": anomaly,
            "value": value[flagged],
            "threshold": threshold,
            "detail": details,
        }
    )
    return _anomaly_frame(rows)


def _anomaly_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` with exactly the ANOMALIES columns and dtypes, sorted, index reset."""
    dtypes = ANOMALIES.empty_table().to_pandas().dtypes.to_dict()
    ordered = rows.sort_values(SORT_COLUMNS, kind="stable").reset_index(drop=True)
    return ordered[ANOMALIES.names].astype(dtypes)


def _check_window(window: int) -> None:
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")


def _check_positive(name: str, threshold: float) -> None:
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"{name} must be a finite positive number, got {threshold}")
