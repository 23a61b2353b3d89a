"""Analytics layer: technical indicators and trading signals per (date, symbol).

Both evaluate their blocking checks before writing (defs/common/audit.py)."""

from collections.abc import Iterator
from typing import Any

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    asset,
)

from fin_assets.analytics import quality
from fin_assets.analytics.indicators import compute_indicators
from fin_assets.analytics.market_calendar import previous_session
from fin_assets.analytics.schemas import INDICATORS, SIGNALS
from fin_assets.analytics.signals import SIGNAL_NAMES, compute_signals
from fin_assets.defs.common.audit import publish_if_passed
from fin_assets.defs.common.checks import check_result, check_specs, with_run_checks
from fin_assets.defs.common.partition_metadata import record_partition_rows
from fin_assets.defs.common.partition_scope import date_symbol_scope
from fin_assets.defs.common.partitions import GraphPartitions
from fin_assets.defs.common.spark_history import history_on_spark
from fin_assets.executors import heavy_step_op_tags, signal_path_op_tags
from fin_assets.resources.spark_runner import SparkRunner
from fin_assets.resources.storage import LakeResource
from fin_assets.shared.check_rules import known_signals_result
from fin_assets.shared.lake_io import (
    each_symbol,
    from_date,
    over_daily_history,
    read_symbol_history,
    write_symbol_partitions,
)
from fin_assets.shared.partitions import partition_values
from fin_assets.universe import load_universe


def technical_indicators(
    context: AssetExecutionContext, lake: LakeResource, spark: SparkRunner
) -> Iterator[Any]:
    """SMA 20/50/200, EMA 12/26, RSI 14, MACD 12/26/9, Bollinger 20/2, ATR 14, ROC 10 (TA-Lib).

    Each symbol's indicators are computed over its whole daily history from HISTORY_START up to
    the run's last date, then the run's dates are written: a partition holds exactly what TA-Lib
    gives over the whole history, however the partitions were run. Large ranges run on Spark
    (fin_assets.defs.common.spark_history).
    """
    scope = date_symbol_scope(context)
    if spark.use_spark(scope.partition_count):
        yield from with_run_checks(
            context, history_on_spark(context, spark, lake, scope, "technical_indicators")
        )
        return
    store = lake.get_lake()
    frame = from_date(over_daily_history(store, scope, compute_indicators), scope.start)
    checks = [
        check_result("schema", quality.check_schema(frame, INDICATORS)),
        check_result("unique_key", quality.check_unique(frame, ["symbol", "trade_date"])),
        check_result("rsi_range", quality.check_value_range(frame, "rsi_14", 0.0, 100.0)),
    ]
    written = yield from publish_if_passed(
        checks,
        lambda: write_symbol_partitions(store, "technical_indicators", INDICATORS, frame, scope),
    )
    record_partition_rows(context, written)
    result = MaterializeResult(
        metadata={"rows_in_run": written.total, "partitions": scope.partition_count},
        check_results=checks,
    )
    yield from with_run_checks(context, result)


def trading_signals(
    context: AssetExecutionContext, lake: LakeResource, spark: SparkRunner
) -> Iterator[Any]:
    """Crossover signals fired on each date (golden/death cross, RSI 70/30, MACD, Bollinger,
    momentum), one row per fired signal; a date where nothing fired is a zero-row partition.
    Large ranges run on Spark (fin_assets.defs.common.spark_history)."""
    scope = date_symbol_scope(context)
    if spark.use_spark(scope.partition_count):
        yield from with_run_checks(
            context, history_on_spark(context, spark, lake, scope, "trading_signals")
        )
        return
    store = lake.get_lake()
    calendars = {s.symbol: s.calendar for s in load_universe()}

    def indicators_of(symbol: str) -> pd.DataFrame:
        # The first date's crossings compare with the symbol's previous session.
        first_read = max(
            partition_values().history_start, previous_session(calendars[symbol], scope.start)
        )
        return read_symbol_history(
            store, "technical_indicators", INDICATORS, symbol, first_read, scope.end
        )

    frames = []
    for indicators in each_symbol(scope.symbols, indicators_of):
        signals = compute_signals(indicators)
        frames.append(signals[signals["trade_date"] >= scope.start])
    frame = pd.concat(frames, ignore_index=True)
    checks = [
        check_result("schema", quality.check_schema(frame, SIGNALS)),
        check_result("unique_key", quality.check_unique(frame, ["symbol", "trade_date", "signal"])),
        check_result("known_signals", known_signals_result(frame)),
    ]
    written = yield from publish_if_passed(
        checks, lambda: write_symbol_partitions(store, "trading_signals", SIGNALS, frame, scope)
    )
    record_partition_rows(context, written)
    result = MaterializeResult(
        check_results=checks,
        metadata={
            "rows_in_run": written.total,
            "partitions": scope.partition_count,
            **{f"signals_{name}": int((frame["signal"] == name).sum()) for name in SIGNAL_NAMES},
        },
    )
    yield from with_run_checks(context, result)


def build_assets(partitions: GraphPartitions) -> list[AssetsDefinition]:
    """The indicator and signal assets on `partitions`."""
    return [
        asset(
            group_name="analytics",
            partitions_def=partitions.date_symbol_partitions,
            backfill_policy=BackfillPolicy.single_run(),
            # The same date's daily bars (the look-back: automation.LOOKBACKS).
            deps=["daily_bars"],
            check_specs=check_specs(
                "technical_indicators",
                blocking=["schema", "unique_key", "rsi_range"],
            ),
            kinds={"parquet", "pandas"},
            op_tags={**heavy_step_op_tags(), **signal_path_op_tags()},
        )(technical_indicators),
        asset(
            group_name="analytics",
            partitions_def=partitions.date_symbol_partitions,
            backfill_policy=BackfillPolicy.single_run(),
            deps=["technical_indicators"],  # same date; the look-back: automation.LOOKBACKS
            check_specs=check_specs(
                "trading_signals",
                blocking=["schema", "unique_key", "known_signals"],
            ),
            kinds={"parquet", "pandas"},
            op_tags=signal_path_op_tags(),
        )(trading_signals),
    ]
