"""Ingest layer: raw vendor payloads, stored immutably in the lake exactly as received.

raw_quotes is a graph-backed asset, because Dagster concurrency pools belong to ops: one fetch
step per pool (FETCH_POOLS) takes a slot of its vendor's pool and fetches only the run's
symbols that the source routes to that pool (`MarketDataResource.pool_for`), so concurrent runs
never call one vendor at the same time and its quota holds across runs, while runs pulling from
different vendors proceed side by side. A last step (`collect_raw_quotes`, no pool) sums the
fetch steps' FetchSummary values into the materialization's metadata and the blocking
`payload_present` check, or, with `landing_keys` in the run config, ingests those landing
files instead (defs/ingest/landing.py; the fetch steps then do nothing). Metadata
`volume_unavailable` lists the run's symbols whose vendor publishes no per-bar volume: their
bars' volume 0 means "unknown" (fin_assets.resources.market_data.NO_INTERVAL_VOLUME_VENDORS).

Step keys: `raw_quotes.fetch_alpha_vantage`, `raw_quotes.fetch_coingecko`,
`raw_quotes.fetch_yahoo`, `raw_quotes.fetch_offline`, `raw_quotes.collect_raw_quotes`. A fetch
step without symbols in its pool makes no call and returns an empty summary.
"""

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    ConfigMapping,
    In,
    MetadataValue,
    Nothing,
    OpDefinition,
    Out,
    Output,
    graph_asset,
    op,
)

from fin_assets.defs.common.checks import check_result, check_specs, with_run_checks
from fin_assets.defs.common.partition_scope import PartitionScope, date_symbol_scope
from fin_assets.defs.common.partitions import GraphPartitions
from fin_assets.defs.ingest.fetch_summary import (
    FETCH_SUMMARY_IO_MANAGER,
    FetchSummary,
    fetch_summary_io_manager,
)
from fin_assets.defs.ingest.landing import RawQuotesConfig, ingest_landing_run
from fin_assets.defs.ingest.retries import VENDOR_RETRY_POLICY, retry_only_transient_vendor_errors
from fin_assets.landing.raw_store import raw_partition_prefix, store_payload
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.market_data import (
    NO_INTERVAL_VOLUME_VENDORS,
    OFFLINE_POOL,
    MarketDataResource,
    stored_bar_count,
)
from fin_assets.resources.storage import LakeResource
from fin_assets.resources.vendors.routing import VENDOR_POOLS
from fin_assets.shared.check_rules import payload_present_result, session_has_bars_result
from fin_assets.universe import Symbol, load_universe

# Fetch step name suffix → the concurrency pool the step takes (limit 1 each by default, see
# fin_assets/instance.py and deploy/dagster.*.yaml).
FETCH_POOLS = {
    "alpha_vantage": VENDOR_POOLS["alphavantage"],
    "coingecko": VENDOR_POOLS["coingecko"],
    "yahoo": VENDOR_POOLS["yahoo"],
    "offline": OFFLINE_POOL,
}
# Runs of at most this many partitions list each payload's lineage (vendor, endpoint, params,
# fetched_at, sha256) and the sessions without data in their metadata. Dagster copies a ranged
# run's metadata onto every partition's materialization, so longer runs only give the counts
# (each raw object's name still holds its fetch time and hash).
LINEAGE_PARTITIONS = 31
COLLECT_OP = "collect_raw_quotes"


def fetch_payloads(
    context: AssetExecutionContext,
    market_data: MarketDataResource,
    store: ParquetLake,
    symbols: Sequence[Symbol],
    scope: PartitionScope,
) -> FetchSummary:
    """Fetch and store the payload of every (symbol, date) of `symbols` × the scope's dates.

    A partition whose newest payload holds bars is skipped when the source reuses stored
    payloads; one holding none ("no data": the vendor answered without a bar for the session)
    is fetched again. A date without a session makes no call and stores nothing.
    """
    summary = FetchSummary(vendors={s.symbol: market_data.vendor_for(s) for s in symbols})
    counts = {"stored": 0, "unchanged": 0, "reused": 0, "no_session": 0, "payload_bytes": 0}
    for symbol in symbols:
        vendor = summary.vendors[symbol.symbol]
        for trade_date in scope.dates:
            day = trade_date.isoformat()
            if market_data.reuses_stored_payloads and stored_bar_count(
                store, vendor, symbol.symbol, day
            ):
                counts["reused"] += 1
                continue
            with retry_only_transient_vendor_errors():
                payload = market_data.fetch_intraday(symbol, trade_date)
            if payload is None:
                counts["no_session"] += 1
                continue
            counts["payload_bytes"] += len(payload.content)
            if payload.bar_count == 0:
                summary.no_data.append(f"{symbol.symbol}|{day}")
            summary.lineage.append(
                {"symbol": symbol.symbol, "trade_date": day, **payload.lineage()}
            )
            stored = store_payload(store, payload, symbol.symbol, day, payload.fetched_at)
            counts["stored" if stored else "unchanged"] += 1
            if not store.list_objects(raw_partition_prefix(payload.vendor, symbol.symbol, day)):
                summary.missing.append([symbol.symbol, day])
        context.log.info(f"raw_quotes {symbol.symbol}: {len(scope.dates)} dates fetched")
    return replace(summary, **counts)


def _fetch_op(name: str, pool: str) -> OpDefinition:
    """The fetch step of `pool`: the run's symbols routed to it, under its concurrency slot."""

    @op(
        name=f"fetch_{name}",
        pool=pool,
        retry_policy=VENDOR_RETRY_POLICY,
        out=Out(FetchSummary, io_manager_key=FETCH_SUMMARY_IO_MANAGER),
        description=f"Fetches and stores the payloads of the run's symbols in pool {pool}.",
    )
    def fetch(
        context: AssetExecutionContext,
        config: RawQuotesConfig,
        market_data: MarketDataResource,
        lake: LakeResource,
    ) -> FetchSummary:
        if config.landing_keys:
            return FetchSummary()
        scope = date_symbol_scope(context)
        universe = {s.symbol: s for s in load_universe()}
        with retry_only_transient_vendor_errors():
            symbols = [
                universe[s] for s in scope.symbols if market_data.pool_for(universe[s]) == pool
            ]
        if not symbols:
            return FetchSummary()
        return fetch_payloads(context, market_data, lake.get_lake(), symbols, scope)

    return fetch


FETCH_OPS = {name: _fetch_op(name, pool) for name, pool in FETCH_POOLS.items()}


def _in_scope_order(scope: PartitionScope, summaries: Sequence[FetchSummary]) -> FetchSummary:
    """The fetch steps' summaries as one, entries ordered by (symbol in universe order, date)."""
    rank = {symbol: index for index, symbol in enumerate(scope.symbols)}
    vendors = {k: v for s in summaries for k, v in s.vendors.items()}
    return FetchSummary(
        vendors={symbol: vendors[symbol] for symbol in scope.symbols if symbol in vendors},
        stored=sum(s.stored for s in summaries),
        unchanged=sum(s.unchanged for s in summaries),
        reused=sum(s.reused for s in summaries),
        no_session=sum(s.no_session for s in summaries),
        payload_bytes=sum(s.payload_bytes for s in summaries),
        missing=sorted((m for s in summaries for m in s.missing), key=lambda m: (rank[m[0]], m[1])),
        lineage=sorted(
            (e for s in summaries for e in s.lineage),
            key=lambda e: (rank[str(e["symbol"])], str(e["trade_date"])),
        ),
        no_data=sorted(
            (d for s in summaries for d in s.no_data),
            key=lambda d: (rank[d.split("|")[0]], d.split("|")[1]),
        ),
    )


@op(
    name=COLLECT_OP,
    ins={name: In(FetchSummary) for name in FETCH_POOLS},
    out={
        "result": Out(Nothing),
        "payload_present": Out(Nothing),
        "session_has_bars": Out(Nothing),
    },
    description="The materialization of raw_quotes and its checks.",
)
def collect_raw_quotes(
    context: AssetExecutionContext,
    config: RawQuotesConfig,
    market_data: MarketDataResource,
    lake: LakeResource,
    **summaries: FetchSummary,
) -> Iterator[Output | AssetCheckResult]:
    """Sum the fetch steps' summaries (or ingest the landing files) into metadata and checks:
    the blocking payload_present, and the WARN session_has_bars listing the sessions the vendor
    answered without a bar (a later pull asks again; landing files always hold rows for each
    session date of their key, the contract's rule)."""
    scope = date_symbol_scope(context)
    if config.landing_keys:
        with retry_only_transient_vendor_errors():
            landing = ingest_landing_run(context, lake.get_lake(), config.landing_keys)
        yield Output(None, "result", metadata=landing.metadata)
        yield from with_run_checks(context, *landing.check_results, _session_has_bars([], scope))
        return
    total = _in_scope_order(scope, list(summaries.values()))
    presence = payload_present_result(total.missing, scope.partition_count - total.no_session)
    details = {
        "lineage": MetadataValue.json(total.lineage),
        "no_data": MetadataValue.json(total.no_data),
    }
    metadata: dict[str, Any] = {
        "vendor": market_data.vendor,
        "vendors": MetadataValue.json(total.vendors),
        "partitions": scope.partition_count,
        "payloads_stored": total.stored,
        "payloads_unchanged": total.unchanged,
        "payloads_reused": total.reused,
        "lineage_entries": len(total.lineage),
        "no_data_count": len(total.no_data),
        "no_session_partitions": total.no_session,
        "payload_bytes": MetadataValue.int(total.payload_bytes),
        "volume_unavailable": MetadataValue.json(
            [s for s, v in total.vendors.items() if v in NO_INTERVAL_VOLUME_VENDORS]
        ),
        **(details if scope.partition_count <= LINEAGE_PARTITIONS else {}),
    }
    yield Output(None, "result", metadata=metadata)
    yield from with_run_checks(
        context,
        check_result("payload_present", presence),
        _session_has_bars(total.no_data, scope),
    )


def _session_has_bars(no_data: Sequence[str], scope: PartitionScope) -> AssetCheckResult:
    """WARN check: the session partitions ("SYMBOL|date") whose payload holds no bar."""
    result = session_has_bars_result(no_data, scope.partition_count)
    return check_result("session_has_bars", result, AssetCheckSeverity.WARN)


def _op_config(outer: dict[str, Any]) -> dict[str, Any]:
    """The graph's run config (RawQuotesConfig, at `ops.raw_quotes.config`) given to each step."""
    config = {"config": RawQuotesConfig(**outer).model_dump()}
    return {COLLECT_OP: config, **{op_def.name: config for op_def in FETCH_OPS.values()}}


def raw_quotes() -> dict[str, Any]:
    """Vendor payloads of one-minute bars per (date, symbol), immutable and as received.

    A date without a session (weekends and exchange holidays for equities) makes no vendor call
    and stores nothing: it materializes as an explicit "no session" result. With
    `landing_keys` in the run config, the run ingests those landing files instead
    (defs/ingest/landing.py).
    """
    result, presence, has_bars = collect_raw_quotes(
        **{name: op_def() for name, op_def in FETCH_OPS.items()}
    )
    # A graph-backed asset returns its check outputs under "{asset key}_{check name}".
    return {
        "result": result,
        "raw_quotes_payload_present": presence,
        "raw_quotes_session_has_bars": has_bars,
    }


def build_assets(partitions: GraphPartitions) -> list[AssetsDefinition]:
    """raw_quotes on `partitions`."""
    return [
        graph_asset(
            group_name="ingest",
            partitions_def=partitions.date_symbol_partitions,
            backfill_policy=BackfillPolicy.single_run(),
            check_specs=check_specs(
                "raw_quotes", blocking=["payload_present"], warning=["session_has_bars"]
            ),
            kinds={"parquet", "json"},
            config=ConfigMapping(
                config_fn=_op_config, config_schema=RawQuotesConfig.to_config_schema()
            ),
            resource_defs={FETCH_SUMMARY_IO_MANAGER: fetch_summary_io_manager},
        )(raw_quotes),
    ]
