"""Bars layer: normalized one-minute bars and daily bars per (date, symbol).

Both assets evaluate their blocking checks before writing (defs/common/audit.py): a failing check
leaves the lake partitions as they were.
"""

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
    AssetsDefinition,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from fin_assets.analytics import quality
from fin_assets.analytics.bars import (
    aggregate_daily_bars,
    merge_sources,
    normalize_intraday_bars,
)
from fin_assets.analytics.market_calendar import session_minutes
from fin_assets.analytics.ohlc_policy import OHLC_TOLERANCE, apply_ohlc_policy
from fin_assets.analytics.plausibility import PlausibilityRules
from fin_assets.analytics.schemas import DAILY_BARS, INTRADAY_BARS
from fin_assets.defs.common.audit import publish_if_passed
from fin_assets.defs.common.checks import check_result, check_specs, with_run_checks
from fin_assets.defs.common.partition_metadata import record_partition_rows
from fin_assets.defs.common.partition_scope import date_symbol_scope
from fin_assets.defs.common.partitions import GraphPartitions
from fin_assets.defs.common.spark_history import history_on_spark
from fin_assets.executors import heavy_step_op_tags
from fin_assets.landing.lake_plausibility import check_bars_plausibility
from fin_assets.landing.sources import partition_sources
from fin_assets.resources.market_data import MarketDataResource, decode_payload
from fin_assets.resources.spark_runner import SparkRunner
from fin_assets.resources.storage import LakeResource
from fin_assets.settings import environ
from fin_assets.shared.check_rules import ohlc_repaired_result
from fin_assets.shared.lake_io import read_scope, write_symbol_partitions
from fin_assets.universe import load_universe

# Sessions listed by name in intraday_bars' `missing_minutes` metadata (the count is always given).
LISTED_SESSIONS = 50
BAR_CHECKS = ["schema", "unique_key", "ohlc_consistency", "positive_prices", "non_negative_volume"]
# Runs of at most this many partitions list every repaired bar's timestamp in their metadata
# (Dagster copies a ranged run's metadata onto every partition's event); longer runs list the
# count per partition, and the ohlc_repaired check's sample shows the first bars.
REPAIRS_LISTED_PARTITIONS = 31


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


class OhlcRepairs:
    """The OHLC policy of each partition's source applied to its bars, and what it did.

    `apply` returns the partition's bars under its source's policy (repaired under `repair`),
    keeping the repaired bars' timestamps; a partition with a bar beyond OHLC_TOLERANCE, or
    with any inconsistent bar under `reject`, is recorded as refused. `refusal()` is the Failure
    to raise before anything is written.
    """

    def __init__(self, market_data: MarketDataResource) -> None:
        self.market_data = market_data
        self.repaired: list[tuple[str, date, str, pd.Timestamp]] = []
        self.refused: list[str] = []
        self.refused_bars: dict[str, list[str]] = {}

    def apply(self, bars: pd.DataFrame, source: str, symbol: str, trade_date: date) -> pd.DataFrame:
        policy = self.market_data.ohlc_policy_for(source)
        outcome = apply_ohlc_policy(bars, policy)
        where = f"{symbol} {trade_date} (source {source}, OHLC policy {policy})"
        refused = outcome.beyond_tolerance
        if policy == "reject":
            refused = refused.union(outcome.inconsistent)
        if len(refused):
            self.refused_bars.setdefault(f"{symbol}|{trade_date}", []).extend(
                ts.isoformat() for ts in refused
            )
        if len(outcome.beyond_tolerance):
            shown = ", ".join(ts.isoformat() for ts in outcome.beyond_tolerance[:5])
            self.refused.append(
                f"{where}: {len(outcome.beyond_tolerance)} bars miss open/close by more than "
                f"{OHLC_TOLERANCE:.1%}: {shown}"
            )
        if policy == "reject" and len(outcome.inconsistent):
            shown = ", ".join(ts.isoformat() for ts in outcome.inconsistent[:5])
            self.refused.append(
                f"{where}: {len(outcome.inconsistent)} bars whose high/low miss open/close: {shown}"
            )
        elif policy == "repair":
            self.repaired += [(symbol, trade_date, source, ts) for ts in outcome.inconsistent]
        return outcome.bars

    def refusal(self) -> Failure | None:
        """The Failure naming every refused partition's bars, or None; its metadata counts them
        (`ohlc_refused`) and lists them per "SYMBOL|date" by timestamp (`ohlc_refused_bars`)."""
        if not self.refused:
            return None
        return Failure(
            description="bars refused by their source's OHLC policy (nothing written): "
            + "; ".join(self.refused),
            metadata={
                "ohlc_refused": MetadataValue.int(sum(map(len, self.refused_bars.values()))),
                "ohlc_refused_bars": MetadataValue.json(self.refused_bars),
            },
            allow_retries=False,
        )

    def metadata(self, partition_count: int) -> dict[str, MetadataValue]:
        """`ohlc_repaired` (count) and `ohlc_repaired_bars`: per "SYMBOL|date", the repaired
        bars' timestamps (runs of at most REPAIRS_LISTED_PARTITIONS partitions) or count."""
        by_partition: dict[str, list[str]] = {}
        for symbol, trade_date, _, ts in self.repaired:
            by_partition.setdefault(f"{symbol}|{trade_date}", []).append(ts.isoformat())
        listed = partition_count <= REPAIRS_LISTED_PARTITIONS
        return {
            "ohlc_repaired": MetadataValue.int(len(self.repaired)),
            "ohlc_repaired_bars": MetadataValue.json(
                by_partition if listed else {k: len(v) for k, v in by_partition.items()}
            ),
        }

    def check(self, checked_rows: int) -> AssetCheckResult:
        """The WARN check `ohlc_repaired`: fails (as a warning) when any bar was repaired."""
        result = ohlc_repaired_result(self.repaired, checked_rows)
        return check_result("ohlc_repaired", result, AssetCheckSeverity.WARN)


def intraday_bars(
    context: AssetExecutionContext, market_data: MarketDataResource, lake: LakeResource
) -> Iterator[Any]:
    """One-minute OHLCV bars, UTC bar-open timestamps, one row per minute (last delivery wins).

    Each symbol's exchange time zone comes from the universe (and dim_symbol); it is also
    recorded on every materialization as `exchange_timezones`.

    Each session partition merges its sources minute by minute (`partition_sources`,
    `merge_sources`: landing payloads over the vendor's, later over earlier), so a correction
    replaces exactly the minutes it carries; `duplicates_dropped` counts the rows dropped as
    duplicates within a source or replaced by a later one. Before the merge, each source's bars
    get its OHLC policy (`market_data.ohlc_policies`, default repair: analytics/ohlc_policy.py);
    repaired bars are listed in the metadata (`ohlc_repaired`, `ohlc_repaired_bars`) and the WARN
    check `ohlc_repaired`; refused bars fail the step before anything is written. Dates without
    a session are written as zero-row partitions.
    """
    scope = date_symbol_scope(context)
    store = lake.get_lake()
    universe = {s.symbol: s for s in load_universe()}
    frames: list[pd.DataFrame] = []
    expected: dict[tuple[str, object], pd.DatetimeIndex] = {}
    duplicates = 0
    repairs = OhlcRepairs(market_data)
    for symbol in scope.symbols:
        calendar = universe[symbol].calendar
        for trade_date in scope.dates:
            minutes = session_minutes(calendar, trade_date)
            expected[(symbol, trade_date)] = minutes
            if minutes.empty:
                continue
            vendor = market_data.vendor_for(universe[symbol])
            merged = []
            for source, raw in partition_sources(store, decode_payload, vendor, symbol, trade_date):
                one_source = normalize_intraday_bars(raw, symbol, trade_date)
                duplicates += one_source.duplicates_dropped
                merged.append(repairs.apply(one_source.bars, source, symbol, trade_date))
            normalized = normalize_intraday_bars(merge_sources(merged), symbol, trade_date)
            duplicates += normalized.duplicates_dropped
            frames.append(normalized.bars)
        context.log.info(f"intraday_bars {symbol}: {len(scope.dates)} dates normalized")
    refusal = repairs.refusal()
    if refusal is not None:
        raise refusal
    bars = pd.concat(frames, ignore_index=True) if frames else _empty(INTRADAY_BARS)
    rules = PlausibilityRules.from_environment(environ())
    checks = [
        *bar_check_results(bars, INTRADAY_BARS, ["symbol", "ts"]),
        check_result("plausibility", check_bars_plausibility(store, bars, rules)),
        check_result(
            "session_completeness",
            quality.check_session_completeness(bars, expected),
            AssetCheckSeverity.WARN,
        ),
        repairs.check(len(bars)),
    ]
    written = yield from publish_if_passed(
        checks,
        lambda: write_symbol_partitions(store, "intraday_bars", INTRADAY_BARS, bars, scope),
    )
    record_partition_rows(context, written)
    incomplete = incomplete_sessions(bars, expected)
    result = MaterializeResult(
        check_results=checks,
        metadata={
            "rows_in_run": written.total,
            "partitions": scope.partition_count,
            "duplicates_dropped": duplicates,
            **repairs.metadata(scope.partition_count),
            "incomplete_sessions": len(incomplete),
            "missing_minutes": MetadataValue.json(dict(list(incomplete.items())[:LISTED_SESSIONS])),
            "exchange_timezones": MetadataValue.json(
                {symbol: universe[symbol].timezone for symbol in scope.symbols}
            ),
        },
    )
    yield from with_run_checks(context, result)


def incomplete_sessions(
    bars: pd.DataFrame, expected: dict[tuple[str, date], pd.DatetimeIndex]
) -> dict[str, str]:
    """`"SYMBOL|DATE": "n of m minutes"` for each session partition with fewer bars than its
    session has minutes, in scope order."""
    counts = bars.groupby(["symbol", "trade_date"]).size()
    found = {}
    for (symbol, trade_date), minutes in expected.items():
        have = int(counts.get((symbol, trade_date), 0))
        if have < len(minutes):
            found[f"{symbol}|{trade_date.isoformat()}"] = f"{have} of {len(minutes)} minutes"
    return found


def daily_bars(
    context: AssetExecutionContext, lake: LakeResource, spark: SparkRunner
) -> Iterator[Any]:
    """Daily OHLCV per session aggregated from the one-minute bars (VWAP on typical price).

    A run covering at least `spark.min_partitions` partitions (a backfill) aggregates on Spark
    with the same `aggregate_daily_bars` (fin_assets.defs.common.spark_history)."""
    scope = date_symbol_scope(context)
    if spark.use_spark(scope.partition_count):
        yield from with_run_checks(
            context, history_on_spark(context, spark, lake, scope, "daily_bars")
        )
        return
    store = lake.get_lake()
    daily = aggregate_daily_bars(read_scope(store, "intraday_bars", INTRADAY_BARS, scope))
    checks = bar_check_results(daily, DAILY_BARS, ["symbol", "trade_date"])
    written = yield from publish_if_passed(
        checks, lambda: write_symbol_partitions(store, "daily_bars", DAILY_BARS, daily, scope)
    )
    record_partition_rows(context, written)
    result = MaterializeResult(
        metadata={"rows_in_run": written.total, "partitions": scope.partition_count},
        check_results=checks,
    )
    yield from with_run_checks(context, result)


def _empty(schema: pa.Schema) -> pd.DataFrame:
    return schema.empty_table().to_pandas()


def build_assets(partitions: GraphPartitions) -> list[AssetsDefinition]:
    """The bar assets on `partitions`."""
    return [
        asset(
            group_name="bars",
            partitions_def=partitions.date_symbol_partitions,
            backfill_policy=BackfillPolicy.single_run(),
            deps=[AssetKey("raw_quotes")],
            check_specs=check_specs(
                "intraday_bars",
                blocking=[*BAR_CHECKS, "plausibility"],
                warning=["session_completeness", "ohlc_repaired"],
            ),
            kinds={"parquet", "pandas"},
            op_tags=heavy_step_op_tags(),
        )(intraday_bars),
        asset(
            group_name="bars",
            partitions_def=partitions.date_symbol_partitions,
            backfill_policy=BackfillPolicy.single_run(),
            deps=[AssetKey("intraday_bars")],
            check_specs=check_specs("daily_bars", blocking=BAR_CHECKS),
            kinds={"parquet", "pandas"},
        )(daily_bars),
    ]
