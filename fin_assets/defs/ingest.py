"""Ingest layer: raw vendor payloads, stored immutably in the lake exactly as received."""

import pandas as pd
from dagster import AssetExecutionContext, BackfillPolicy, MaterializeResult, MetadataValue, asset

from fin_assets.analytics.quality import RuleResult
from fin_assets.defs.checks import check_result, check_specs
from fin_assets.defs.partition_scope import date_symbol_scope
from fin_assets.defs.partitions import date_symbol_partitions
from fin_assets.defs.retries import VENDOR_RETRY_POLICY, retry_only_transient_vendor_errors
from fin_assets.resources.market_data import MarketDataResource
from fin_assets.resources.raw_store import raw_partition_prefix, store_payload
from fin_assets.resources.storage import LakeResource
from fin_assets.universe import load_universe


@asset(
    group_name="ingest",
    partitions_def=date_symbol_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    check_specs=check_specs("raw_quotes", blocking=["payload_present"]),
    kinds={"parquet", "json"},
    retry_policy=VENDOR_RETRY_POLICY,
)
def raw_quotes(
    context: AssetExecutionContext, market_data: MarketDataResource, lake: LakeResource
) -> MaterializeResult:
    """Vendor payloads of one-minute bars per (date, symbol), immutable and as received.

    A date without a session (weekends and exchange holidays for equities) makes no vendor call
    and stores nothing: it materializes as an explicit "no session" result.
    """
    scope = date_symbol_scope(context)
    store = lake.get_lake()
    universe = {s.symbol: s for s in load_universe()}
    stored, unchanged, no_session, total_bytes = 0, 0, 0, 0
    missing: list[tuple[str, str]] = []
    for symbol in scope.symbols:
        for trade_date in scope.dates:
            with retry_only_transient_vendor_errors():
                payload = market_data.fetch_intraday(universe[symbol], trade_date)
            if payload is None:
                no_session += 1
                continue
            total_bytes += len(payload.content)
            if store_payload(store, payload, symbol, trade_date.isoformat()):
                stored += 1
            else:
                unchanged += 1
            prefix = raw_partition_prefix(payload.vendor, symbol, trade_date.isoformat())
            if not store.list_objects(prefix):
                missing.append((symbol, trade_date.isoformat()))
        context.log.info(f"raw_quotes {symbol}: {len(scope.dates)} dates fetched")
    checked = scope.partition_count - no_session
    presence = RuleResult(
        rule="payload_present",
        passed=not missing,
        failed_rows=len(missing),
        checked_rows=checked,
        sample=pd.DataFrame(missing, columns=["symbol", "trade_date"]),
        detail=f"{len(missing)} session partitions without a payload",
    )
    return MaterializeResult(
        metadata={
            "vendor": market_data.vendor,
            "partitions": scope.partition_count,
            "payloads_stored": stored,
            "payloads_unchanged": unchanged,
            "no_session_partitions": no_session,
            "payload_bytes": MetadataValue.int(total_bytes),
        },
        check_results=[check_result("payload_present", presence)],
    )
