"""Spark history job: bars → indicators → signals → risk for a date range × symbol set.

Runnable by spark-submit (locally, on EMR, on EMR Serverless):

    spark-submit spark_resources/history_job.py --lake-root LAKE --start 2025-01-01 \
        --end 2025-12-31 --symbols AAPL,BTC [--history-start 2025-01-01] \
        [--datasets daily_bars,technical_indicators,trading_signals,risk_metrics] \
        [--staging-run RUN_ID]

Same numbers as the pandas assets by construction: each symbol's whole daily history from
`--history-start` (the assets' history start, default FIN_HISTORY_START) to `--end` goes
through the same pure functions
(`compute_indicators`, `compute_signals`, `compute_risk_metrics`) in one `applyInPandas` group,
then the range's partitions are written with the assets' writer and checked with the assets'
rules. With `daily_bars` among the datasets, the range's daily bars are first aggregated from
`intraday_bars` (`aggregate_daily_bars`, per symbol). With `--staging-run` the partitions are
written to, and read through, that run's staging (spark_resources.lake_frames), which the
orchestrator publishes when the run succeeded. Results are reported through Dagster Pipes (no-op
outside Dagster).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from fin_assets.analytics import quality
from fin_assets.analytics.bars import aggregate_daily_bars
from fin_assets.analytics.indicators import compute_indicators
from fin_assets.analytics.risk import CONFIDENCE_LEVELS, compute_risk_metrics
from fin_assets.analytics.schemas import DAILY_BARS, INDICATORS, INTRADAY_BARS, RISK, SIGNALS
from fin_assets.analytics.signals import SIGNAL_NAMES, compute_signals
from fin_assets.resources.lake import ParquetLake
from fin_assets.shared.check_rules import BACKTEST_WINDOW, known_signals_result, var_backtest_result
from fin_assets.shared.lake_io import calendar_dates
from fin_assets.shared.partition_scope import PartitionScope
from fin_assets.shared.partitions import partition_values
from fin_assets.universe import load_universe
from spark_resources.lake_frames import (
    CheckTotals,
    Rule,
    WrittenDataset,
    add_staging_argument,
    read_symbol_dataset,
    require_partitions,
    write_symbol_dataset,
)
from spark_resources.pipes import open_job_pipes, report_written
from spark_resources.session import spark_session

DATASETS = ("daily_bars", "technical_indicators", "trading_signals", "risk_metrics")
# What the job writes unless told otherwise: the analytics, from the daily bars in the lake.
ANALYTICS = DATASETS[1:]

RULES: dict[str, list[Rule]] = {
    "daily_bars": [
        ("schema", lambda frame: quality.check_schema(frame, DAILY_BARS)),
        ("unique_key", lambda frame: quality.check_unique(frame, ["symbol", "trade_date"])),
        ("ohlc_consistency", quality.check_ohlc_consistency),
        ("positive_prices", quality.check_positive_prices),
        ("non_negative_volume", quality.check_non_negative_volume),
    ],
    "technical_indicators": [
        ("schema", lambda frame: quality.check_schema(frame, INDICATORS)),
        ("unique_key", lambda frame: quality.check_unique(frame, ["symbol", "trade_date"])),
        ("rsi_range", lambda frame: quality.check_value_range(frame, "rsi_14", 0.0, 100.0)),
    ],
    "trading_signals": [
        ("schema", lambda frame: quality.check_schema(frame, SIGNALS)),
        (
            "unique_key",
            lambda frame: quality.check_unique(frame, ["symbol", "trade_date", "signal"]),
        ),
        ("known_signals", known_signals_result),
    ],
    "risk_metrics": [
        ("schema", lambda frame: quality.check_schema(frame, RISK)),
        ("unique_key", lambda frame: quality.check_unique(frame, ["symbol", "trade_date"])),
        ("var_ordering", quality.check_var_ordering),
    ],
}
BACKTEST_SEVERITIES = {f"var_backtest_{label}": "WARN" for label in CONFIDENCE_LEVELS}


def run_history(
    spark: SparkSession,
    lake_root: str,
    scope: PartitionScope,
    history_start: date,
    datasets: Sequence[str] = ANALYTICS,
    periods_per_year: Mapping[str, int] | None = None,
    staging_run: str | None = None,
) -> list[WrittenDataset]:
    """Compute and write `datasets` for the scope; raise MissingPartitionsError before writing
    anything if an input partition is missing: intraday_bars of the scope for daily_bars (the
    daily_bars asset's `aggregate_daily_bars`, written first), daily_bars from history_start to
    the scope's end for the analytics.

    `periods_per_year` (risk annualization per symbol) defaults to the universe's; with
    `staging_run` the run's staging is written and read (module docstring).
    """
    unknown = sorted(set(datasets) - set(DATASETS))
    if unknown or not datasets:
        raise ValueError(f"datasets must be among {', '.join(DATASETS)}, got {list(datasets)}")
    if not history_start <= scope.start:
        raise ValueError(f"history start {history_start} is after the range start {scope.start}")
    lake = ParquetLake(lake_root, staging_run=staging_run)
    analytics = [d for d in datasets if d != "daily_bars"]
    if "daily_bars" in datasets:
        require_partitions(lake, "intraday_bars", scope.symbols, scope.start, scope.end)
        if analytics and history_start < scope.start:
            before = scope.start - timedelta(days=1)
            require_partitions(lake, "daily_bars", scope.symbols, history_start, before)
    else:
        require_partitions(lake, "daily_bars", scope.symbols, history_start, scope.end)
    # One applyInPandas group per symbol: more shuffle partitions than symbols are empty tasks
    # (AQE does not coalesce the pandas UDF's shuffles), fewer than the cores leave cores idle.
    cores = spark.sparkContext.defaultParallelism
    spark.conf.set("spark.sql.shuffle.partitions", str(min(len(scope.symbols), 2 * cores)))
    written = []
    if "daily_bars" in datasets:
        intraday = read_symbol_dataset(
            spark,
            lake_root,
            "intraday_bars",
            INTRADAY_BARS,
            scope.symbols,
            scope.start,
            scope.end,
            staging_run,
        )
        daily = intraday.groupBy("symbol").applyInPandas(
            aggregate_daily_bars, schema=from_arrow_schema(DAILY_BARS)
        )
        written.append(_write(daily, lake_root, "daily_bars", scope, staging_run))
    if not analytics:
        return written
    bars = read_symbol_dataset(
        spark,
        lake_root,
        "daily_bars",
        DAILY_BARS,
        scope.symbols,
        history_start,
        scope.end,
        staging_run,
    ).persist(StorageLevel.MEMORY_AND_DISK)
    periods = dict(periods_per_year or {s.symbol: s.periods_per_year for s in load_universe()})
    if {"technical_indicators", "trading_signals"} & set(datasets):
        indicators = bars.groupBy("symbol").applyInPandas(
            compute_indicators, schema=from_arrow_schema(INDICATORS)
        )
        indicators = indicators.persist(StorageLevel.MEMORY_AND_DISK)
        if "technical_indicators" in datasets:
            written.append(
                _write(indicators, lake_root, "technical_indicators", scope, staging_run)
            )
        if "trading_signals" in datasets:
            signals = indicators.groupBy("symbol").applyInPandas(
                compute_signals, schema=from_arrow_schema(SIGNALS)
            )
            written.append(_write(signals, lake_root, "trading_signals", scope, staging_run))
    if "risk_metrics" in datasets:
        risk = (
            bars.groupBy("symbol")
            .applyInPandas(
                lambda frame: compute_risk_metrics(frame, periods), schema=from_arrow_schema(RISK)
            )
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        risk_written = _write(risk, lake_root, "risk_metrics", scope, staging_run)
        backtests = _backtests(risk)
        written.append(
            WrittenDataset(
                risk_written.dataset,
                risk_written.rows,
                risk_written.partitions,
                [*risk_written.checks, *backtests],
                risk_written.by_partition,
            )
        )
    spark.catalog.clearCache()
    return sorted(written, key=lambda w: DATASETS.index(w.dataset))


def _write(
    frame: DataFrame,
    lake_root: str,
    dataset: str,
    scope: PartitionScope,
    staging_run: str | None,
) -> WrittenDataset:
    """The scope's rows of a whole-history frame, written (staged for `staging_run`) and
    checked."""
    in_range = frame.where(F.col("trade_date") >= scope.start)
    schema = {
        "daily_bars": DAILY_BARS,
        "technical_indicators": INDICATORS,
        "trading_signals": SIGNALS,
        "risk_metrics": RISK,
    }[dataset]
    return write_symbol_dataset(
        in_range, lake_root, dataset, schema, scope, RULES[dataset], staging_run
    )


def _backtests(risk: DataFrame) -> list[CheckTotals]:
    """The VaR backtest checks of the risk asset, on each symbol's last BACKTEST_WINDOW + 1 rows
    (the last BACKTEST_WINDOW forecast/return pairs the backtest uses), collected to the driver."""
    last_first = Window.partitionBy("symbol").orderBy(F.col("trade_date").desc())
    columns = ["symbol", "trade_date", "return_1d", *(f"var_{k}_hist" for k in CONFIDENCE_LEVELS)]
    tail = (
        risk.select(*columns)
        .withColumn("row", F.row_number().over(last_first))
        .where(F.col("row") <= BACKTEST_WINDOW + 1)
        .drop("row")
        .toPandas()
    )
    results = []
    for label, confidence in CONFIDENCE_LEVELS.items():
        result = var_backtest_result(tail, label, confidence)
        results.append(
            CheckTotals(
                f"var_backtest_{label}",
                result.passed,
                result.failed_rows,
                result.checked_rows,
                result.detail,
            )
        )
    return results


def signal_counts(
    spark: SparkSession, lake_root: str, scope: PartitionScope, staging_run: str | None = None
) -> dict[str, int]:
    """Signals of each name in the scope, as the pandas asset's `signals_<name>` metadata."""
    signals = read_symbol_dataset(
        spark,
        lake_root,
        "trading_signals",
        SIGNALS,
        scope.symbols,
        scope.start,
        scope.end,
        staging_run,
    )
    found = {row["signal"]: row["count"] for row in signals.groupBy("signal").count().collect()}
    return {name: int(found.get(name, 0)) for name in SIGNAL_NAMES}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lake-root", required=True, help="lake folder or s3://bucket/prefix")
    parser.add_argument("--start", required=True, type=date.fromisoformat)
    parser.add_argument("--end", required=True, type=date.fromisoformat)
    parser.add_argument("--symbols", required=True, help="comma-separated universe symbols")
    parser.add_argument(
        "--history-start", type=date.fromisoformat, default=partition_values().history_start
    )
    parser.add_argument(
        "--datasets",
        default=",".join(ANALYTICS),
        help=f"comma-separated among {', '.join(DATASETS)}",
    )
    add_staging_argument(parser)
    return parser.parse_args(argv)


def scope_of(start: date, end: date, symbols: str) -> PartitionScope:
    """The partition scope of a range and a comma-separated symbol list (universe order)."""
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    universe = [s.symbol for s in load_universe()]
    wanted = [s for s in symbols.split(",") if s]
    outside = sorted(set(wanted) - set(universe))
    if outside or not wanted:
        raise ValueError(f"symbols must be universe symbols, got {wanted}")
    ordered = tuple(s for s in universe if s in wanted)
    return PartitionScope(tuple(calendar_dates(start, end)), ordered)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    scope = scope_of(args.start, args.end, args.symbols)
    datasets = [d for d in args.datasets.split(",") if d]
    with open_job_pipes() as pipes:
        spark = spark_session("fin_assets history")
        runs = run_history(
            spark,
            args.lake_root,
            scope,
            args.history_start,
            datasets,
            staging_run=args.staging_run,
        )
        for written in runs:
            extra = {}
            if written.dataset == "trading_signals":
                counts = signal_counts(spark, args.lake_root, scope, args.staging_run)
                extra = {f"signals_{name}": count for name, count in counts.items()}
            report_written(pipes, written, extra, BACKTEST_SEVERITIES)
            pipes.log.info(f"{written.dataset}: {written.rows} rows, {written.partitions} files")


if __name__ == "__main__":
    main()
