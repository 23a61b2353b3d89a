"""Spark cross-symbol job: portfolio VaR and the rolling correlation matrix per date.

    spark-submit spark_resources/cross_symbol_job.py --lake-root LAKE --start 2025-06-01 \
        --end 2025-06-30 [--history-start 2025-01-01] [--weights AAPL=0.5,BTC=0.5] \
        [--staging-run RUN_ID]

Spark reads every universe symbol's daily closes from `--history-start` to `--end` (one folder
per symbol, date folders pruned), keeps the sessions of PORTFOLIO_CALENDAR (a broadcast join
with the session calendar) and pivots them to one column per symbol. The wide frame (sessions ×
symbols: 2,520 × 100 floats for ten years of a 100-symbol universe) goes to the driver, where
`compute_portfolio_risk` — the function of the pandas asset — computes both outputs, so the
numbers are the asset's by construction. Weights default to equal weights over the universe.
With `--staging-run` the job reads and writes through that run's staging
(spark_resources.lake_frames), which the orchestrator publishes when the run succeeded.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from datetime import date

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from fin_assets.analytics import quality
from fin_assets.analytics.market_calendar import sessions_in_range
from fin_assets.analytics.risk import compute_portfolio_risk
from fin_assets.analytics.schemas import CORRELATION, DAILY_BARS, PORTFOLIO_RISK
from fin_assets.resources.lake import ParquetLake
from fin_assets.shared.lake_io import calendar_dates, write_date_partitions
from fin_assets.shared.partitions import partition_values
from fin_assets.shared.portfolio import PORTFOLIO_CALENDAR, portfolio_weights
from spark_resources.lake_frames import (
    CheckTotals,
    WrittenDataset,
    add_staging_argument,
    read_symbol_dataset,
    require_partitions,
)
from spark_resources.pipes import open_job_pipes, report_written
from spark_resources.session import spark_session


def wide_closes(
    spark: SparkSession,
    lake_root: str,
    symbols: Sequence[str],
    start: date,
    end: date,
    staging_run: str | None = None,
) -> pd.DataFrame:
    """Closes on the PORTFOLIO_CALENDAR sessions from start to end: index trade_date (every
    session, ascending), one column per symbol in `symbols` order (NaN where no bar)."""
    sessions = sessions_in_range(PORTFOLIO_CALENDAR, start, end)
    calendar = spark.createDataFrame([(day,) for day in sessions], "trade_date date")
    closes = read_symbol_dataset(
        spark, lake_root, "daily_bars", DAILY_BARS, symbols, start, end, staging_run
    )
    wide = (
        closes.join(F.broadcast(calendar), "trade_date")
        .groupBy("trade_date")
        .pivot("symbol", list(symbols))
        .agg(F.first("close"))
        .toPandas()
    )
    index = pd.Index(sessions, name="trade_date")
    return wide.set_index("trade_date").reindex(index)[list(symbols)].astype("float64")


def run_cross_symbol(
    spark: SparkSession,
    lake_root: str,
    dates: Sequence[date],
    weights: Mapping[str, float],
    history_start: date,
    staging_run: str | None = None,
) -> list[WrittenDataset]:
    """Write portfolio_risk and correlation_matrix for `dates` (ascending) and check them;
    raise MissingPartitionsError before writing if a daily_bars partition is missing. With
    `staging_run` the run's staging is read and written (module docstring)."""
    symbols = list(weights)
    lake = ParquetLake(lake_root, staging_run=staging_run)
    require_partitions(lake, "daily_bars", symbols, history_start, dates[-1])
    closes = wide_closes(spark, lake_root, symbols, history_start, dates[-1], staging_run)
    portfolio, correlation = compute_portfolio_risk(closes, weights)
    portfolio = portfolio[portfolio["trade_date"].isin(dates)]
    correlation = correlation[correlation["trade_date"].isin(dates)]
    outputs = [
        ("portfolio_risk", PORTFOLIO_RISK, portfolio, "var_ordering", quality.check_var_ordering),
        (
            "correlation_matrix",
            CORRELATION,
            correlation,
            "correlation_range",
            lambda frame: quality.check_value_range(frame, "correlation", -1.0, 1.0),
        ),
    ]
    written = []
    for dataset, schema, frame, check, rule in outputs:
        rows = write_date_partitions(lake, dataset, schema, frame, dates)
        result = rule(frame)
        totals = CheckTotals(
            check, result.passed, result.failed_rows, result.checked_rows, result.detail
        )
        written.append(WrittenDataset(dataset, rows.total, len(dates), [totals], rows.by_partition))
    return written


def parse_weights(text: str) -> dict[str, float]:
    """`SYM=w,SYM=w` as the portfolio's resolved weights (empty: equal weights)."""
    pairs = [item.split("=", 1) for item in text.split(",") if item]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"weights must look like AAPL=0.5,BTC=0.5, got {text!r}")
    return portfolio_weights({s: float(w) for s, w in pairs})


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lake-root", required=True, help="lake folder or s3://bucket/prefix")
    parser.add_argument("--start", required=True, type=date.fromisoformat)
    parser.add_argument("--end", required=True, type=date.fromisoformat)
    parser.add_argument(
        "--history-start", type=date.fromisoformat, default=partition_values().history_start
    )
    parser.add_argument("--weights", default="", help="SYM=w,...; default equal weights")
    add_staging_argument(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.start > args.end or args.start < args.history_start:
        raise ValueError(f"need history start <= start <= end, got {vars(args)}")
    weights = parse_weights(args.weights)
    with open_job_pipes() as pipes:
        spark = spark_session("fin_assets cross-symbol")
        dates = calendar_dates(args.start, args.end)
        runs = run_cross_symbol(
            spark, args.lake_root, dates, weights, args.history_start, args.staging_run
        )
        for written in runs:
            extra = {"weights": {"raw_value": weights, "type": "json"}}
            report_written(pipes, written, extra if written.dataset == "portfolio_risk" else {})


if __name__ == "__main__":
    main()
