"""Speed of compute_indicators against raw TA-Lib and the pure-pandas `ta` library, same run.

Builds synthetic daily bars (a deterministic numpy random walk, `--symbols` × `--days`) and
times, with time.perf_counter:

- compute_indicators on the whole frame (validation, sort, per-symbol split, one output frame
  included); it calls TA-Lib's C functions through cffi (fin_assets.analytics.talib_c), writing
  into the output frame's block;
- raw TA-Lib: the talib package's Python functions for the same TA-Lib calls (talib_symbol:
  SMA 50/200, EMA 12/26, RSI 14, MACD 12/26/9, BBANDS 20/2/2 whose middle band is SMA 20, ATR 14,
  ROC 10), on per-symbol numpy arrays split beforehand;
- `ta`: the same indicators from the `ta` library on per-symbol pandas Series split beforehand.

Raw TA-Lib and compute_indicators run in turn within each of `--repeats` rounds, so that machine
load hits them alike; raw TA-Lib goes first, so its small output arrays reuse the heap memory
freed by the previous round (later in a round they would fault in fresh pages, up to 2x slower
at 1M rows). Each keeps its fastest round, by wall-clock time and by CPU time (steadier on a
loaded machine, Fastest). Both are single-threaded.
`ta` (10-100x slower) is timed after them, best of `--ta-repeats`. The per-symbol split of the
baselines is not timed, so they are lower bounds and the ratios conservative.
overhead = compute_indicators / raw TA-Lib (target <= 1.5); speedup = ta / compute_indicators
(target >= 10). A second case repeats the measurement on at least `--rows` rows (`--days` per
symbol). Each case also reports how far the three agree: raw TA-Lib should equal
compute_indicators exactly, and `ta` should match to 1e-8 of each column's largest absolute
value from row SETTLED_ROW of each symbol on, where the different seeding of its recursive
indicators (EMA, RSI, MACD, ATR) has decayed below that tolerance.

Each case runs with the keys typed two ways (the conversion is not timed): `object` — symbol as
Python str and trade_date as datetime.date, what `Table.to_pandas()` gives by default and so what
the assets' lake reads (fin_assets.shared.lake_io) hand to compute_indicators today; `arrow` —
symbol categorical and trade_date Arrow date32, what `to_pandas(categories=["symbol"],
types_mapper=...)` gives. Typed keys are ordered from their integer codes; object keys must be
converted (dates) or hashed (symbols) first. A last case times the assets' call pattern: one
compute_indicators call per symbol (`--symbols` calls of `--days` rows, object keys).

    python -m benchmarks.indicators --symbols 100 --days 2520 --rows 1000000
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
import talib
from ta.momentum import ROCIndicator, RSIIndicator
from ta.trend import MACD, EMAIndicator, SMAIndicator
from ta.volatility import AverageTrueRange, BollingerBands

from fin_assets.analytics.indicators import compute_indicators
from fin_assets.analytics.schemas import INDICATOR_COLUMNS

# First row of a symbol where `ta`'s differently seeded recursions agree with TA-Lib to 1e-8.
SETTLED_ROW = 600
FIRST_DATE = "2015-01-01"

Result = TypeVar("Result")
Prices = tuple[np.ndarray, np.ndarray, np.ndarray]
SeriesPrices = tuple[pd.Series, pd.Series, pd.Series]


@dataclass(frozen=True)
class CaseResult:
    """Fastest seconds of the implementations on one case, and how far they agree."""

    symbols: int
    days: int
    keys: str
    per_symbol: bool
    indicators_seconds: float
    talib_seconds: float
    indicators_cpu_seconds: float
    talib_cpu_seconds: float
    ta_seconds: float
    talib_max_abs_diff: float
    ta_max_rel_diff: float

    @property
    def rows(self) -> int:
        return self.symbols * self.days

    @property
    def calls(self) -> str:
        """How compute_indicators was called: once on all rows or once per symbol."""
        return "per symbol" if self.per_symbol else "one"

    @property
    def overhead(self) -> float:
        """compute_indicators seconds / raw TA-Lib seconds."""
        return self.indicators_seconds / self.talib_seconds

    @property
    def cpu_overhead(self) -> float:
        """CPU seconds of compute_indicators / CPU seconds of raw TA-Lib."""
        return self.indicators_cpu_seconds / self.talib_cpu_seconds

    @property
    def speedup(self) -> float:
        """ta seconds / compute_indicators seconds."""
        return self.ta_seconds / self.indicators_seconds


def synthetic_bars(symbols: int, days: int, seed: int = 7) -> pd.DataFrame:
    """Daily OHLCV bars of `symbols` symbols ("S0000", ...) over `days` business days from
    2015-01-01, sorted by (symbol, trade_date), trade_date as datetime.date.

    close is 100 * exp of a cumulative sum of N(0, 0.02) log returns; open is close times
    exp(N(0, 0.005)); high and low widen max/min(open, close) by exp(|N(0, 0.01)|). The same
    arguments always give the same frame.
    """
    if symbols < 1 or days < 1:
        raise ValueError(f"symbols and days must be >= 1, got {symbols} and {days}")
    rng = np.random.default_rng(seed)
    shape = (symbols, days)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, size=shape), axis=1))
    open_ = close * np.exp(rng.normal(0.0, 0.005, size=shape))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.01, size=shape)))
    low = np.minimum(open_, close) / np.exp(np.abs(rng.normal(0.0, 0.01, size=shape)))
    dates = pd.bdate_range(FIRST_DATE, periods=days).date
    return pd.DataFrame(
        {
            "symbol": np.repeat([f"S{index:04d}" for index in range(symbols)], days),
            "trade_date": np.tile(dates, symbols),
            "open": open_.ravel(),
            "high": high.ravel(),
            "low": low.ravel(),
            "close": close.ravel(),
            "volume": rng.lognormal(13.0, 1.0, size=symbols * days),
        }
    )


def arrow_keys(bars: pd.DataFrame) -> pd.DataFrame:
    """`bars` with symbol categorical and trade_date Arrow date32 (values unchanged)."""
    return bars.assign(
        symbol=bars["symbol"].astype("category"),
        trade_date=bars["trade_date"].astype("date32[pyarrow]"),
    )


KEY_TYPINGS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "object": lambda bars: bars,
    "arrow": arrow_keys,
}


def split_prices(bars: pd.DataFrame) -> list[Prices]:
    """(high, low, close) float64 arrays of each symbol, in symbol order; `bars` must be sorted
    by (symbol, trade_date) as synthetic_bars returns them."""
    return [
        tuple(rows[name].to_numpy(dtype=np.float64) for name in ("high", "low", "close"))
        for _, rows in bars.groupby("symbol", sort=True)
    ]


def talib_symbol(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> dict[str, np.ndarray]:
    """INDICATOR_COLUMNS of one symbol from talib's Python functions: the nine TA-Lib calls
    compute_indicators makes through talib_c (sma_20 is BBANDS's middle band)."""
    macd, macd_signal, macd_hist = talib.MACD(close, fastperiod=12, slowperiod=26, signalperiod=9)
    bb_upper, bb_middle, bb_lower = talib.BBANDS(
        close, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0
    )
    return {
        "sma_20": bb_middle,
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


def raw_talib(prices: list[Prices]) -> list[dict[str, np.ndarray]]:
    """INDICATOR_COLUMNS of each symbol from talib's Python functions (talib_symbol), on arrays
    already split per symbol."""
    return [talib_symbol(high, low, close) for high, low, close in prices]


def ta_library(prices: list[SeriesPrices]) -> list[dict[str, pd.Series]]:
    """INDICATOR_COLUMNS of each symbol from the `ta` library's classes with the same periods
    (its EMAs are seeded with the first close and its RSI and ATR seeds differ from TA-Lib's)."""
    outputs = []
    for high, low, close in prices:
        macd = MACD(close, window_slow=26, window_fast=12, window_sign=9)
        bands = BollingerBands(close, window=20, window_dev=2)
        outputs.append(
            {
                "sma_20": SMAIndicator(close, window=20).sma_indicator(),
                "sma_50": SMAIndicator(close, window=50).sma_indicator(),
                "sma_200": SMAIndicator(close, window=200).sma_indicator(),
                "ema_12": EMAIndicator(close, window=12).ema_indicator(),
                "ema_26": EMAIndicator(close, window=26).ema_indicator(),
                "rsi_14": RSIIndicator(close, window=14).rsi(),
                "macd": macd.macd(),
                "macd_signal": macd.macd_signal(),
                "macd_hist": macd.macd_diff(),
                "bb_upper": bands.bollinger_hband(),
                "bb_middle": bands.bollinger_mavg(),
                "bb_lower": bands.bollinger_lband(),
                "atr_14": AverageTrueRange(high, low, close, window=14).average_true_range(),
                "roc_10": ROCIndicator(close, window=10).roc(),
            }
        )
    return outputs


@dataclass(frozen=True)
class Fastest:
    """Smallest seconds of one function over several calls: wall-clock (time.perf_counter) and
    CPU time of the process, all its threads (time.process_time); the two minima may come from
    different calls. CPU time leaves out the waits for a core, so on a loaded machine it is the
    steadier measure of single-threaded work."""

    wall: float
    cpu: float


def best_of(repeats: int, run: Callable[[], Result]) -> tuple[float, Result]:
    """Smallest wall-clock seconds (time.perf_counter) of `repeats` calls of `run`, and the
    result of the last call."""
    fastest, results = interleaved_best_of(repeats, [run])
    return fastest[0].wall, results[0]


def interleaved_best_of(
    repeats: int, runs: list[Callable[[], Result]]
) -> tuple[list[Fastest], list[Result]]:
    """`repeats` rounds, each calling every function of `runs` once in turn: the Fastest of
    each function over the rounds, and the results of its last call."""
    wall = [math.inf] * len(runs)
    cpu = [math.inf] * len(runs)
    results: list[Result] = []
    for _ in range(repeats):
        results = []
        for position, run in enumerate(runs):
            began, began_cpu = time.perf_counter(), time.process_time()
            results.append(run())
            wall[position] = min(wall[position], time.perf_counter() - began)
            cpu[position] = min(cpu[position], time.process_time() - began_cpu)
    return [Fastest(*seconds) for seconds in zip(wall, cpu, strict=True)], results


def stacked(outputs: list[dict[str, np.ndarray]] | list[dict[str, pd.Series]]) -> pd.DataFrame:
    """Per-symbol indicator outputs concatenated in symbol order, columns INDICATOR_COLUMNS."""
    return pd.DataFrame(
        {
            name: np.concatenate([np.asarray(output[name], dtype=np.float64) for output in outputs])
            for name in INDICATOR_COLUMNS
        }
    )


def measure_case(
    symbols: int,
    days: int,
    repeats: int = 3,
    keys: str = "object",
    per_symbol: bool = False,
    ta_repeats: int = 1,
) -> CaseResult:
    """Time compute_indicators (on synthetic_bars(symbols, days) with keys typed as
    KEY_TYPINGS[keys]; with `per_symbol`, one call on each symbol's rows) and raw TA-Lib, in
    turn within each of `repeats` rounds, then `ta`, best of `ta_repeats`; and measure their
    agreement: the largest absolute difference between compute_indicators and raw TA-Lib over
    all cells (inf if their NaN cells differ), and the largest difference |ta - talib| over rows
    SETTLED_ROW.. of each symbol, relative to the largest |talib| of its column there (so
    columns crossing zero, like macd, stay meaningful).
    Raises ValueError unless symbols >= 1, days > SETTLED_ROW and both repeats >= 1."""
    if symbols < 1 or days <= SETTLED_ROW or min(repeats, ta_repeats) < 1:
        raise ValueError(
            f"need symbols >= 1, days > {SETTLED_ROW} and repeats >= 1, "
            f"got {symbols}, {days} and {repeats}, {ta_repeats}"
        )
    bars = synthetic_bars(symbols, days)
    prices = split_prices(bars)
    series_prices = [tuple(pd.Series(values) for values in arrays) for arrays in prices]
    typed_bars = KEY_TYPINGS[keys](bars)
    inputs = (
        [
            typed_bars.iloc[start : start + days].reset_index(drop=True)
            for start in range(0, len(bars), days)
        ]
        if per_symbol
        else [typed_bars]
    )
    # Raw TA-Lib first in each round, when the previous round's outputs have just been freed:
    # its many small arrays then reuse that heap memory instead of faulting in fresh pages.
    (talib_calls, indicators), (talib_outputs, frames) = interleaved_best_of(
        repeats,
        [lambda: raw_talib(prices), lambda: [compute_indicators(frame) for frame in inputs]],
    )
    ta_seconds, ta_outputs = best_of(ta_repeats, lambda: ta_library(series_prices))
    frame = pd.concat(frames, ignore_index=True)
    expected = stacked(talib_outputs).to_numpy()
    actual = frame[list(INDICATOR_COLUMNS)].to_numpy()
    talib_max_abs_diff = (
        float(np.nanmax(np.abs(actual - expected)))
        if np.array_equal(np.isnan(actual), np.isnan(expected))
        else math.inf
    )
    settled = np.tile(np.arange(days) >= SETTLED_ROW, symbols)
    reference = expected[settled]
    ta_max_rel_diff = float(
        np.max(
            np.max(np.abs(stacked(ta_outputs).to_numpy()[settled] - reference), axis=0)
            / np.max(np.abs(reference), axis=0)
        )
    )
    return CaseResult(
        symbols=symbols,
        days=days,
        keys=keys,
        per_symbol=per_symbol,
        indicators_seconds=indicators.wall,
        talib_seconds=talib_calls.wall,
        indicators_cpu_seconds=indicators.cpu,
        talib_cpu_seconds=talib_calls.cpu,
        ta_seconds=ta_seconds,
        talib_max_abs_diff=talib_max_abs_diff,
        ta_max_rel_diff=ta_max_rel_diff,
    )


def machine_description() -> str:
    """Architecture, processor, CPU count and the versions that matter to the timings."""
    return (
        f"{platform.machine()} ({platform.processor() or 'processor n/a'}), "
        f"{os.cpu_count()} CPUs, {platform.system()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}, talib {talib.__version__}"
    )


def report(cases: list[tuple[str, CaseResult]]) -> str:
    """Markdown table of the cases, then the agreement of each case."""
    lines = [
        "| case | keys | calls | rows | compute_indicators s | raw TA-Lib s "
        "| overhead (<= 1.5x) | same, CPU time | ta s | speedup (>= 10x) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, case in cases:
        lines.append(
            f"| {label} | {case.keys} | {case.calls} | {case.rows:,} | "
            f"{case.indicators_seconds:.4f} | {case.talib_seconds:.4f} | "
            f"{case.overhead:.2f}x | {case.cpu_overhead:.2f}x | "
            f"{case.ta_seconds:.3f} | {case.speedup:.1f}x |"
        )
    lines.append("")
    for label, case in cases:
        lines.append(
            f"Agreement, {label}, {case.keys} keys, {case.calls} call(s): "
            f"max |compute_indicators - TA-Lib| = {case.talib_max_abs_diff:.3g}; "
            f"max |ta - TA-Lib| / column scale from row {SETTLED_ROW} = {case.ta_max_rel_diff:.3g}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--days", type=int, default=2520)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--ta-repeats", type=int, default=2)
    args = parser.parse_args()
    large_symbols = -(-args.rows // args.days)
    cases = [
        (
            f"{symbols} symbols x {args.days} days",
            measure_case(symbols, args.days, args.repeats, keys, ta_repeats=args.ta_repeats),
        )
        for symbols in (args.symbols, large_symbols)
        for keys in KEY_TYPINGS
    ]
    cases.append(
        (
            f"{args.symbols} symbols x {args.days} days",
            measure_case(args.symbols, args.days, args.repeats, "object", True, args.ta_repeats),
        )
    )
    print(f"Machine: {machine_description()}")
    print(f"Fastest of {args.repeats} rounds each ({args.ta_repeats} for ta).")
    print()
    print(report(cases))


if __name__ == "__main__":
    main()
