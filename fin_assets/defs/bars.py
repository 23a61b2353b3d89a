"""Bars layer: normalized one-minute bars and daily bars per (date, symbol)."""

from collections.abc import Iterator
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from fin_assets.analytics import quality
from fin_assets.analytics.bars import aggregate_daily_bars, normalize_intraday_bars
from fin_assets.analytics.market_calendar import session_minutes
from fin_assets.analytics.schemas import DAILY_BARS, INTRADAY_BARS
from fin_assets.defs.checks import check_result, check_specs, with_run_checks
from fin_assets.defs.lake_io import read_scope, write_symbol_partitions
from fin_assets.defs.partition_scope import date_symbol_scope
from fin_assets.defs.partitions import date_symbol_partitions
from fin_assets.defs.spark_history import history_on_spark
from fin_assets.executors import heavy_step_op_tags
from fin_assets.landing.contract import LANDING_VENDOR
from fin_assets.landing.ingest import read_landing_bars
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.market_data import MarketDataResource, decode_payload
from fin_assets.resources.raw_store import raw_partition_prefix
from fin_assets.resources.spark_runner import SparkRunner
from fin_assets.resources.storage import LakeResource
from fin_assets.universe import load_universe

BAR_CHECKS = ["schema", "unique_key", "ohlc_consistency", "positive_prices", "non_negative_volume"]


def bar_check_results(
    frame: pd.DataFrame, schema: pa.Schema, keys: list[str]
) -> list[AssetCheckResult]:
    """The blocking checks every bar dataset passes before anything downstream reads it."""
    return [
        check_result("schema", quality.check_schema(frame, schema)),
        check_result("unique_key", quality.check_unique(frame, keys)),
        check_result("ohlc_consistency", quality.check_ohlc_consistency(frame)),
        check_result("positive_prices", quality.check_positive_prices(frame)),
        check_result("non_negative_volume", quality.check_non_negative_volume(frame)),
    ]


def partition_raw_bars(
    store: ParquetLake, vendor: str, symbol: str, trade_date: date
) -> pd.DataFrame:
    """Raw bars of one session partition: the union of its landing payloads when it has any
    (landing files take precedence, see fin_assets/landing/ingest.py), else the newest payload
    of `vendor`. ValueError when the partition has neither."""
    day = trade_date.isoformat()
    landed = store.list_objects(raw_partition_prefix(LANDING_VENDOR, symbol, day))
    if landed:
        return read_landing_bars(store, landed)
    prefix = raw_partition_prefix(vendor, symbol, day)
    keys = store.list_objects(prefix)
    if not keys:
        raise ValueError(
            f"no raw payload for {symbol} on {trade_date} under {prefix}: "
            "materialize raw_quotes for this partition first"
        )
    return decode_payload(vendor, store.get_object(keys[-1]))


@asset(
    group_name="bars",
    partitions_def=date_symbol_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    deps=[AssetKey("raw_quotes")],
    check_specs=check_specs(
        "intraday_bars",
        blocking=BAR_CHECKS,
        warning=["session_completeness"],
    ),
    kinds={"parquet", "pandas"},
    op_tags=heavy_step_op_tags(),
)
def intraday_bars(
    context: AssetExecutionContext, market_data: MarketDataResource, lake: LakeResource
) -> Iterator[Any]:
    """One-minute OHLCV bars, UTC bar-open timestamps, deduplicated (last delivery wins).

    Each symbol's exchange time zone comes from the universe (and dim_symbol); it is also
    recorded on every materialization as `exchange_timezones`.

    Reads each session partition's raw bars with `partition_raw_bars`; dates without a session
    are written as zero-row partitions.
    """
    scope = date_symbol_scope(context)
    store = lake.get_lake()
    universe = {s.symbol: s for s in load_universe()}
    frames: list[pd.DataFrame] = []
    expected: dict[tuple[str, object], pd.DatetimeIndex] = {}
    duplicates = 0
    for symbol in scope.symbols:
        calendar = universe[symbol].calendar
        for trade_date in scope.dates:
            minutes = session_minutes(calendar, trade_date)
            expected[(symbol, trade_date)] = minutes
            if minutes.empty:
                continue
            vendor = market_data.vendor_for(universe[symbol])
            raw = partition_raw_bars(store, vendor, symbol, trade_date)
            normalized = normalize_intraday_bars(raw, symbol, trade_date)
            duplicates += normalized.duplicates_dropped
            frames.append(normalized.bars)
        context.log.info(f"intraday_bars {symbol}: {len(scope.dates)} dates normalized")
    bars = pd.concat(frames, ignore_index=True) if frames else _empty(INTRADAY_BARS)
    rows = write_symbol_partitions(store, "intraday_bars", INTRADAY_BARS, bars, scope)
    completeness = quality.check_session_completeness(bars, expected)
    result = MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "partitions": scope.partition_count,
            "duplicates_dropped": duplicates,
            "exchange_timezones": MetadataValue.json(
                {symbol: universe[symbol].timezone for symbol in scope.symbols}
            ),
        },
        check_results=[
            *bar_check_results(bars, INTRADAY_BARS, ["symbol", "ts"]),
            check_result("session_completeness", completeness, AssetCheckSeverity.WARN),
        ],
    )
    yield from with_run_checks(context, result)


@asset(
    group_name="bars",
    partitions_def=date_symbol_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    deps=[AssetKey("intraday_bars")],
    check_specs=check_specs("daily_bars", blocking=BAR_CHECKS),
    kinds={"parquet", "pandas"},
)
def daily_bars(
    context: AssetExecutionContext, lake: LakeResource, spark: SparkRunner
) -> Iterator[Any]:
    """Daily OHLCV per session aggregated from the one-minute bars (VWAP on typical price).

    A run covering at least `spark.min_partitions` partitions (a backfill) aggregates on Spark
    with the same `aggregate_daily_bars` (fin_assets.defs.spark_history)."""
    scope = date_symbol_scope(context)
    if spark.use_spark(scope.partition_count):
        yield from with_run_checks(
            context, history_on_spark(context, spark, lake, scope, "daily_bars")
        )
        return
    store = lake.get_lake()
    daily = aggregate_daily_bars(read_scope(store, "intraday_bars", INTRADAY_BARS, scope))
    rows = write_symbol_partitions(store, "daily_bars", DAILY_BARS, daily, scope)
    result = MaterializeResult(
        metadata={"dagster/row_count": rows, "partitions": scope.partition_count},
        check_results=bar_check_results(daily, DAILY_BARS, ["symbol", "trade_date"]),
    )
    yield from with_run_checks(context, result)


def _empty(schema: pa.Schema) -> pd.DataFrame:
    return schema.empty_table().to_pandas()
