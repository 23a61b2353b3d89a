"""Spark history job (local[N]) against the pandas path of the assets, same data, same run.

Two workloads, each at the sizes given, on a throw-away lake of synthetic bars (a seeded
geometric random walk; 1 symbol in 10 trades 24/7, the others on XNYS sessions), built with the
lake's own writer and not timed:

- `daily`: S symbols × Y years of daily bars from FIN_HISTORY_START → technical_indicators,
  trading_signals, risk_metrics for the whole range (a backfill). pandas path: what the three
  assets run (over_daily_history, the pure functions, the checks, write_symbol_partitions).
  Spark path: spark_resources.history_job.run_history.
- `intraday`: at least R one-minute bars of 10 symbols (9 on XNYS, 1 at 24/7), as many days
  from FIN_HISTORY_START as that takes → daily_bars. pandas path: the daily_bars asset's read_scope,
  aggregate_daily_bars, write and checks. Spark path: run_history(datasets=["daily_bars"]), what
  the daily_bars asset runs on Spark.

Both paths write every partition of the range (one file per symbol × date, zero-row files for
dates without a session), each into its own lake whose input dataset is a symlink to the one
built. Times are wall seconds with time.perf_counter; Spark's are split into the session start
(once per process, what spark-submit pays per run) and the job. After each case the outputs of
both paths are compared on two symbols (max |difference| over every float column).

The intraday cases run first (cheapest per case), then the daily ones. With two or more sizes of
a workload, the crossover is printed at the end: a straight line (fixed + marginal seconds per
partition, or per row for intraday) fitted to each path, Spark's fixed cost including the
session start, and the size where the lines cross (none when Spark's marginal cost is higher).

    python -m benchmarks.spark_history --daily 10x1,10x4,30x10,100x10 --intraday 1000000
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from fin_assets.analytics import quality
from fin_assets.analytics.bars import aggregate_daily_bars
from fin_assets.analytics.indicators import compute_indicators
from fin_assets.analytics.market_calendar import previous_session, session_minutes
from fin_assets.analytics.risk import CONFIDENCE_LEVELS, compute_risk_metrics
from fin_assets.analytics.schemas import DAILY_BARS, INDICATORS, INTRADAY_BARS, RISK, SIGNALS
from fin_assets.analytics.signals import compute_signals
from fin_assets.defs.bars.assets import bar_check_results
from fin_assets.resources.lake import ParquetLake
from fin_assets.shared.check_rules import known_signals_result, var_backtest_result
from fin_assets.shared.lake_io import (
    calendar_dates,
    from_date,
    over_daily_history,
    read_scope,
    read_symbol_history,
    write_symbol_partitions,
)
from fin_assets.shared.partition_scope import PartitionScope
from fin_assets.shared.partitions import partition_values
from spark_resources.history_job import run_history
from spark_resources.session import spark_session

CRYPTO_EVERY = 10
SEED = 7


@dataclass(frozen=True)
class Universe:
    """Synthetic symbols with their calendar and annualization."""

    symbols: tuple[str, ...]
    calendars: dict[str, str]
    periods: dict[str, int]


def make_universe(count: int) -> Universe:
    symbols = tuple(f"S{i:03d}" for i in range(count))
    crypto = {s for i, s in enumerate(symbols) if i % CRYPTO_EVERY == CRYPTO_EVERY - 1}
    return Universe(
        symbols,
        {s: "24/7" if s in crypto else "XNYS" for s in symbols},
        {s: 365 if s in crypto else 252 for s in symbols},
    )


def _session_days(calendar: str, dates: Sequence[date]) -> list[date]:
    return [d for d in dates if not session_minutes(calendar, d).empty]


def write_daily_input(lake: ParquetLake, universe: Universe, scope: PartitionScope) -> int:
    """Random-walk daily bars of every symbol, one partition per date; returns the rows."""
    rng = np.random.default_rng(SEED)
    sessions = {c: _session_days(c, scope.dates) for c in set(universe.calendars.values())}
    rows = 0
    for symbol in universe.symbols:
        days = sessions[universe.calendars[symbol]]
        close = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, len(days))))
        open_ = close * np.exp(rng.normal(0, 0.004, len(days)))
        wick = np.abs(rng.normal(0, 0.006, (2, len(days))))
        frame = pd.DataFrame(
            {
                "symbol": symbol,
                "trade_date": days,
                "open": open_,
                "high": np.maximum(open_, close) * (1 + wick[0]),
                "low": np.minimum(open_, close) * (1 - wick[1]),
                "close": close,
                "volume": rng.integers(1_000, 1_000_000, len(days)).astype(float),
                "vwap": (open_ + close) / 2,
                "bar_count": 390,
            }
        )
        write_symbol_partitions(
            lake, "daily_bars", DAILY_BARS, frame, PartitionScope(scope.dates, (symbol,))
        )
        rows += len(frame)
    return rows


def write_intraday_input(lake: ParquetLake, universe: Universe, scope: PartitionScope) -> int:
    """Random-walk one-minute bars over each session's minutes; returns the rows."""
    rng = np.random.default_rng(SEED)
    rows = 0
    for symbol in universe.symbols:
        calendar = universe.calendars[symbol]
        minutes = [session_minutes(calendar, day) for day in scope.dates]
        ts = pd.DatetimeIndex(np.concatenate([m.to_numpy() for m in minutes]), tz="UTC")
        days = np.repeat(np.array(scope.dates, dtype=object), [len(m) for m in minutes])
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.0005, len(ts))))
        open_ = np.concatenate([[100.0], close[:-1]])
        wick = np.abs(rng.normal(0, 0.0003, (2, len(ts))))
        frame = pd.DataFrame(
            {
                "symbol": symbol,
                "trade_date": days,
                "ts": ts,
                "open": open_,
                "high": np.maximum(open_, close) * (1 + wick[0]),
                "low": np.minimum(open_, close) * (1 - wick[1]),
                "close": close,
                "volume": rng.integers(1, 10_000, len(ts)).astype(float),
            }
        )
        write_symbol_partitions(
            lake, "intraday_bars", INTRADAY_BARS, frame, PartitionScope(scope.dates, (symbol,))
        )
        rows += len(frame)
    return rows


def pandas_analytics(lake: ParquetLake, scope: PartitionScope, universe: Universe) -> None:
    """What technical_indicators, trading_signals and risk_metrics run for the scope."""
    indicators = from_date(over_daily_history(lake, scope, compute_indicators), scope.start)
    write_symbol_partitions(lake, "technical_indicators", INDICATORS, indicators, scope)
    quality.check_schema(indicators, INDICATORS)
    quality.check_unique(indicators, ["symbol", "trade_date"])
    quality.check_value_range(indicators, "rsi_14", 0.0, 100.0)
    frames = []
    for symbol in scope.symbols:
        first = max(
            partition_values().history_start,
            previous_session(universe.calendars[symbol], scope.start),
        )
        history = read_symbol_history(
            lake, "technical_indicators", INDICATORS, symbol, first, scope.end
        )
        signals = compute_signals(history)
        frames.append(signals[signals["trade_date"] >= scope.start])
    signals = pd.concat(frames, ignore_index=True)
    write_symbol_partitions(lake, "trading_signals", SIGNALS, signals, scope)
    quality.check_schema(signals, SIGNALS)
    quality.check_unique(signals, ["symbol", "trade_date", "signal"])
    known_signals_result(signals)
    history = over_daily_history(
        lake, scope, lambda bars: compute_risk_metrics(bars, universe.periods)
    )
    risk = from_date(history, scope.start)
    write_symbol_partitions(lake, "risk_metrics", RISK, risk, scope)
    quality.check_schema(risk, RISK)
    quality.check_unique(risk, ["symbol", "trade_date"])
    quality.check_var_ordering(risk)
    for label, confidence in CONFIDENCE_LEVELS.items():
        var_backtest_result(history, label, confidence)


def pandas_daily_bars(lake: ParquetLake, scope: PartitionScope) -> None:
    """What the daily_bars asset runs for the scope."""
    daily = aggregate_daily_bars(read_scope(lake, "intraday_bars", INTRADAY_BARS, scope))
    write_symbol_partitions(lake, "daily_bars", DAILY_BARS, daily, scope)
    bar_check_results(daily, DAILY_BARS, ["symbol", "trade_date"])


def intraday_dates(universe: Universe, rows: int) -> tuple[date, ...]:
    """Dates from the history start until the universe's session minutes reach `rows`."""
    dates: list[date] = []
    total = 0
    while total < rows:
        day = partition_values().history_start + timedelta(days=len(dates))
        minutes = {c: len(session_minutes(c, day)) for c in set(universe.calendars.values())}
        total += sum(minutes[universe.calendars[s]] for s in universe.symbols)
        dates.append(day)
    return tuple(dates)


def max_difference(
    a: ParquetLake, b: ParquetLake, dataset: str, schema: pa.Schema, scope: PartitionScope
) -> float:
    """Largest |a - b| over the float columns of two symbols' partitions (NaN where both NaN)."""
    worst = 0.0
    for symbol in (scope.symbols[0], scope.symbols[-1]):
        left = a.read_partitions(dataset, schema, scope.dates, symbol).to_pandas()
        right = b.read_partitions(dataset, schema, scope.dates, symbol).to_pandas()
        if len(left) != len(right):
            raise AssertionError(f"{dataset} {symbol}: {len(left)} vs {len(right)} rows")
        for column in left.columns:
            if left[column].dtype.kind == "f":
                x, y = left[column].to_numpy(), right[column].to_numpy()
                if not np.array_equal(np.isnan(x), np.isnan(y)):
                    raise AssertionError(f"{dataset}.{column}: NaN positions differ")
                worst = max(worst, float(np.nanmax(np.abs(x - y), initial=0.0)))
    return worst


@dataclass(frozen=True)
class Measurement:
    workload: str
    case: str
    rows: int
    partitions: int
    pandas_seconds: float
    spark_seconds: float
    spark_start_seconds: float
    max_difference: float

    @property
    def ratio(self) -> float:
        """pandas / Spark including its start: above 1, Spark is faster end to end."""
        return self.pandas_seconds / (self.spark_seconds + self.spark_start_seconds)

    def size(self) -> int:
        """What the workload's cost grows with: rows for intraday, partitions for daily."""
        return self.rows if self.workload == "intraday" else self.partitions


def crossover(measurements: Sequence[Measurement]) -> str:
    """The fitted fixed and marginal costs of both paths and the size where Spark (with its
    session start) becomes faster, from two or more sizes of one workload."""
    sizes = np.array([m.size() for m in measurements], dtype=float)
    pandas_marginal, pandas_fixed = np.polyfit(sizes, [m.pandas_seconds for m in measurements], 1)
    spark_total = [m.spark_seconds + m.spark_start_seconds for m in measurements]
    spark_marginal, spark_fixed = np.polyfit(sizes, spark_total, 1)
    unit = "row" if measurements[0].workload == "intraday" else "partition"
    text = (
        f"{measurements[0].workload}: pandas {pandas_fixed:.1f} s + {pandas_marginal * 1e3:.4f} ms"
        f"/{unit}; Spark {spark_fixed:.1f} s + {spark_marginal * 1e3:.4f} ms/{unit}; "
    )
    if spark_marginal >= pandas_marginal:
        return text + "no crossover (Spark's marginal cost is not lower)"
    at = (spark_fixed - pandas_fixed) / (pandas_marginal - spark_marginal)
    return text + f"crossover at {at:,.0f} {unit}s"


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure(
    workdir: Path,
    workload: str,
    case: str,
    input_dataset: str,
    build: Callable[[ParquetLake], int],
    pandas_run: Callable[[ParquetLake], None],
    spark_run: Callable[[str], object],
    compare: tuple[str, pa.Schema],
    scope: PartitionScope,
    spark_start: float,
) -> Measurement:
    base = workdir / case
    source = ParquetLake(str(base / "input"))
    rows = build(source)
    lakes = {}
    for path in ("pandas", "spark"):
        (base / path).mkdir(parents=True)
        (base / path / input_dataset).symlink_to(base / "input" / input_dataset)
        lakes[path] = ParquetLake(str(base / path))
    pandas_seconds = timed(lambda: pandas_run(lakes["pandas"]))
    spark_seconds = timed(lambda: spark_run(str(base / "spark")))
    difference = max_difference(lakes["pandas"], lakes["spark"], *compare, scope)
    shutil.rmtree(base)
    return Measurement(
        workload,
        case,
        rows,
        scope.partition_count,
        pandas_seconds,
        spark_seconds,
        spark_start,
        difference,
    )


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """`10x1,100x10` as (symbols, years) pairs."""
    return [tuple(int(part) for part in item.split("x")) for item in text.split(",") if item]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--daily", default="10x1,10x4,30x10,100x10", help="SYMBOLSxYEARS,...")
    parser.add_argument("--intraday", default="1000000,10000000", help="minute rows,...")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument(
        "--driver-memory", default="2g", help="as LocalSparkRunner's spark-submit (default 2g)"
    )
    parser.add_argument("--workdir", default=None, help="default: a temporary folder")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    spark = spark_session(
        "benchmark", master=args.master, conf={"spark.driver.memory": args.driver_memory}
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark_start = time.perf_counter() - started
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="spark_history_"))
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, "
        f"Python {platform.python_version()}, Spark {spark.version} {args.master}, load "
        f"{os.getloadavg()[0]:.1f}; session start {spark_start:.1f} s",
        flush=True,
    )
    print(
        "| case | rows | partitions | pandas s | Spark job s | pandas / Spark (with start) "
        "| max abs diff | load |",
        flush=True,
    )
    cases = []
    for rows in (int(r) for r in args.intraday.split(",") if r):
        universe = make_universe(10)
        scope = PartitionScope(intraday_dates(universe, rows), universe.symbols)
        cases.append(
            (
                "intraday",
                f"intraday ≥ {rows:,} rows, {len(scope.dates):,} days",
                "intraday_bars",
                lambda lake, u=universe, s=scope: write_intraday_input(lake, u, s),
                lambda lake, s=scope: pandas_daily_bars(lake, s),
                lambda root, u=universe, s=scope: run_history(
                    spark, root, s, partition_values().history_start, ["daily_bars"], u.periods
                ),
                ("daily_bars", DAILY_BARS),
                scope,
            )
        )
    for symbols, years in parse_sizes(args.daily):
        universe = make_universe(symbols)
        start = partition_values().history_start
        end = date(
            start.year + years,
            start.month,
            start.day,
        )
        dates = tuple(calendar_dates(partition_values().history_start, end - timedelta(days=1)))
        scope = PartitionScope(dates, universe.symbols)
        cases.append(
            (
                "daily",
                f"daily {symbols} symbols x {years} y",
                "daily_bars",
                lambda lake, u=universe, s=scope: write_daily_input(lake, u, s),
                lambda lake, u=universe, s=scope: pandas_analytics(lake, s, u),
                lambda root, u=universe, s=scope: run_history(
                    spark, root, s, partition_values().history_start, periods_per_year=u.periods
                ),
                ("technical_indicators", INDICATORS),
                scope,
            )
        )
    measured: list[Measurement] = []
    for index, case in enumerate(cases):
        workload, name, input_dataset, build, pandas_run, spark_run, compare, scope = case
        m = measure(
            workdir,
            workload,
            f"case{index}",
            input_dataset,
            build,
            pandas_run,
            spark_run,
            compare,
            scope,
            spark_start,
        )
        measured.append(m)
        print(
            f"| {name} | {m.rows:,} | {m.partitions:,} | {m.pandas_seconds:.1f} | "
            f"{m.spark_seconds:.1f} | {m.ratio:.2f} | {m.max_difference:.1e} | "
            f"{os.getloadavg()[0]:.1f} |",
            flush=True,
        )
    for workload in ("intraday", "daily"):
        of_workload = [m for m in measured if m.workload == workload]
        if len({m.size() for m in of_workload}) >= 2:
            print(crossover(of_workload), flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
