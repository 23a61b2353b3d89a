"""Ingest layer: raw vendor payloads, stored immutably in the lake exactly as received."""

import pandas as pd
from dagster import AssetExecutionContext, BackfillPolicy, MaterializeResult, MetadataValue, asset

from fin_assets.analytics.quality import RuleResult
from fin_assets.defs.checks import check_result, check_specs
from fin_assets.defs.landing import RawQuotesConfig, ingest_landing_run
from fin_assets.defs.partition_scope import date_symbol_scope
from fin_assets.defs.partitions import date_symbol_partitions
from fin_assets.defs.retries import VENDOR_RETRY_POLICY, retry_only_transient_vendor_errors
from fin_assets.resources.market_data import MarketDataResource
from fin_assets.resources.raw_store import raw_partition_prefix, store_payload
from fin_assets.resources.storage import LakeResource
from fin_assets.universe import load_universe

# Every raw_quotes step takes a slot of this pool (limit 1 by default, see instance.py), so
# concurrent runs never call the vendors at the same time and the quotas hold across runs.
VENDOR_POOL = "market_data_vendors"
# Runs of at most this many partitions list each payload's lineage (vendor, endpoint, params,
# fetched_at, sha256) and the sessions without data in their metadata. Dagster copies a ranged
# run's metadata onto every partition's materialization, so longer runs only give the counts
# (each raw object's name still holds its fetch time and hash).
LINEAGE_PARTITIONS = 31


@asset(
    group_name="ingest",
    partitions_def=date_symbol_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    check_specs=check_specs("raw_quotes", blocking=["payload_present"]),
    kinds={"parquet", "json"},
    retry_policy=VENDOR_RETRY_POLICY,
    pool=VENDOR_POOL,
)
def raw_quotes(
    context: AssetExecutionContext,
    config: RawQuotesConfig,
    market_data: MarketDataResource,
    lake: LakeResource,
) -> MaterializeResult:
    """Vendor payloads of one-minute bars per (date, symbol), immutable and as received.

    A date without a session (weekends and exchange holidays for equities) makes no vendor call
    and stores nothing: it materializes as an explicit "no session" result. With
    `landing_key` in the run config, the run ingests that landing file instead (defs/landing.py).
    """
    if config.landing_key:
        with retry_only_transient_vendor_errors():
            return ingest_landing_run(context, lake.get_lake(), config.landing_key)
    scope = date_symbol_scope(context)
    store = lake.get_lake()
    universe = {s.symbol: s for s in load_universe()}
    stored, unchanged, reused, no_session, total_bytes = 0, 0, 0, 0, 0
    missing: list[tuple[str, str]] = []
    lineage: list[dict[str, object]] = []
    no_data: list[str] = []
    vendors = {symbol: market_data.vendor_for(universe[symbol]) for symbol in scope.symbols}
    for symbol in scope.symbols:
        for trade_date in scope.dates:
            known = raw_partition_prefix(vendors[symbol], symbol, trade_date.isoformat())
            if market_data.reuses_stored_payloads and store.list_objects(known):
                reused += 1
                continue
            with retry_only_transient_vendor_errors():
                payload = market_data.fetch_intraday(universe[symbol], trade_date)
            if payload is None:
                no_session += 1
                continue
            total_bytes += len(payload.content)
            if payload.bar_count == 0:
                no_data.append(f"{symbol}|{trade_date}")
            lineage.append({"symbol": symbol, "trade_date": str(trade_date), **payload.lineage()})
            if store_payload(store, payload, symbol, trade_date.isoformat(), payload.fetched_at):
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
    details = {"lineage": MetadataValue.json(lineage), "no_data": MetadataValue.json(no_data)}
    return MaterializeResult(
        metadata={
            "vendor": market_data.vendor,
            "vendors": MetadataValue.json(vendors),
            "partitions": scope.partition_count,
            "payloads_stored": stored,
            "payloads_unchanged": unchanged,
            "payloads_reused": reused,
            "lineage_entries": len(lineage),
            "no_data_count": len(no_data),
            "no_session_partitions": no_session,
            "payload_bytes": MetadataValue.int(total_bytes),
            **(details if scope.partition_count <= LINEAGE_PARTITIONS else {}),
        },
        check_results=[check_result("payload_present", presence)],
    )
