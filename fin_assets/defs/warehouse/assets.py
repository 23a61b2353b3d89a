"""Warehouse layer: dimensions and fact tables, loaded idempotently from the lake.

Every fact load replaces exactly the run's partition range (symbols × dates) in one
transaction, so re-running any partition or range leaves exactly one row per key, and a failed
load leaves the previous content intact. In a staged run (fin_assets.defs.common.publish) the load
is staged, its checks are evaluated on the staged rows, and the run's publication applies it.
`dim_symbol` is a type 2 dimension fed by the universe file; `dim_date` is rebuilt whole; a
staged run stages both whole (fin_assets.resources.warehouse) and audits the staged content. The
engine (DuckDB or Snowflake) is the `warehouse` resource chosen by FIN_WAREHOUSE.

Stale rows are shown (fin_assets.warehouse.staleness): the facts derived from daily bars depend
on fact_daily_bar (loaded first, so their rows record the current bars' watermark) and carry the
WARN check `bars_current`, stating the whole table's stale rows. When bars change, that check
is re-stated on every derived fact, so the UI shows stale rows as soon as they exist: by a
staged run's publication (fin_assets.defs.common.publish), or by an unstaged fact_daily_bar load,
which also lists the stale rows per table in its metadata.
"""

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
from dagster import (
    AssetCheckSeverity,
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    Config,
    MaterializeResult,
    MetadataValue,
    MultiToSingleDimensionPartitionMapping,
    PartitionsDefinition,
    asset,
)
from pydantic import Field

from fin_assets.analytics.schemas import (
    CORRELATION,
    DAILY_BARS,
    INDICATORS,
    INTRADAY_BARS,
    PORTFOLIO_RISK,
    RISK,
    SIGNALS,
)
from fin_assets.defs.common.checks import check_result, check_specs, with_run_checks
from fin_assets.defs.common.partition_metadata import (
    PREVIEW,
    PREVIEW_ROWS,
    preview,
    record_latest_preview,
    record_partition_rows,
)
from fin_assets.defs.common.partition_scope import date_scope, date_symbol_scope
from fin_assets.defs.common.partitions import GraphPartitions
from fin_assets.defs.common.stale_checks import STALE_CHECK, stale_evaluations, stale_rows_result
from fin_assets.executors import signal_path_op_tags
from fin_assets.resources.storage import LakeResource, WarehouseResource
from fin_assets.resources.warehouse import staged_relation
from fin_assets.shared.lake_io import (
    count_date_partitions,
    count_symbol_partitions,
    read_scope_table,
)
from fin_assets.shared.partitions import partition_values
from fin_assets.universe import load_universe
from fin_assets.warehouse.check_rules import (
    one_current_version_result,
    range_key_results,
    unique_dates_result,
)
from fin_assets.warehouse.model import (
    DERIVED_FROM_BARS,
    TABLES,
    date_rows,
    symbol_rows,
    with_session_completeness,
)
from fin_assets.warehouse.queries import (
    current_symbols_sql,
    date_keys_sql,
    range_counts_query,
    symbol_versions_sql,
)

FACT_CHECKS = ["rows_match_lake", "unique_key"]
# Steps writing the DuckDB file share this pool (limit 1): one writer process at a time.
WAREHOUSE_POOL = "duckdb_warehouse"
WAREHOUSE_KINDS = {"duckdb", "snowflake"}  # fin_assets.defs.catalog keeps the active engine's


def _bars_dep(table: str) -> list[AssetDep]:
    """fact_daily_bar, for a fact derived from bars: its look-back's bars are loaded first."""
    lineage = TABLES[table].lineage
    if lineage == "symbol":
        return [AssetDep("fact_daily_bar")]
    if lineage == "market":
        mapping = MultiToSingleDimensionPartitionMapping("date")
        return [AssetDep("fact_daily_bar", partition_mapping=mapping)]
    return []


def fact_asset(
    partitions: GraphPartitions,
    table: str,
    source: str,
    schema: pa.Schema,
    *,
    signal_path: bool = False,
    derive: Callable[[pa.Table], pa.Table] | None = None,
) -> AssetsDefinition:
    """An asset loading lake dataset `source` (read as `schema`) into warehouse `table`, on the
    date × member or date `partitions`.

    The rows stay in Arrow from the Parquet files to the warehouse's bulk path; `derive` adds
    columns the lake does not hold; the warehouse keeps the table's columns (TABLES) and drops
    the others. `signal_path` loads run before a run's other ready steps
    (fin_assets.executors.signal_path_op_tags).
    """
    keys = list(TABLES[table].key)
    per_symbol = "symbol" in keys
    partitions_def: PartitionsDefinition = (
        partitions.date_symbol_partitions if per_symbol else partitions.date_partitions
    )
    derived = table in DERIVED_FROM_BARS

    @asset(
        name=table,
        group_name="warehouse",
        partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run(),
        deps=[source, *_bars_dep(table)],
        check_specs=check_specs(
            table, blocking=FACT_CHECKS, warning=[STALE_CHECK] if derived else []
        ),
        kinds=WAREHOUSE_KINDS,
        pool=WAREHOUSE_POOL,
        op_tags=signal_path_op_tags() if signal_path else None,
        description=f"Warehouse table {table}, one row per ({', '.join(keys)}), from {source}.",
    )
    def load(
        context: AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
    ) -> Iterator[Any]:
        store, db = lake.get_lake(), warehouse.get_warehouse()
        symbols: list[str] | None
        if per_symbol:
            scope = date_symbol_scope(context)
            start, end, symbols = scope.start, scope.end, list(scope.symbols)
            rows = read_scope_table(store, source, schema, scope)
            written = count_symbol_partitions(rows, scope)
        else:
            dates = date_scope(context)
            start, end, symbols = dates[0], dates[-1], None
            rows = store.read_partitions(source, schema, dates)
            written = count_date_partitions(rows, dates)
        if derive is not None:
            rows = derive(rows)
        staged_run = warehouse.staged_run
        with db.connected():
            inserted = db.replace_range(
                table, rows, start=start, end=end, symbols=symbols, staged_run=staged_run
            )
            relation = _audited_relation(table, staged_run)
            counts = db.query(*range_counts_query(relation, keys, start, end, symbols))
            results = range_key_results(
                table,
                int(counts["stored"].iloc[0]),
                int(counts["distinct_keys"].iloc[0]),
                inserted,
            )
            checks = [check_result(r.rule, r) for r in results]
            if derived:
                stale = stale_rows_result(db, table)
                checks.append(check_result(STALE_CHECK, stale, AssetCheckSeverity.WARN))
            # Bars changed under derived rows: their check says so now, not at their next load
            # (a staged run's bars change at its publication, which re-states the checks then).
            evaluations = (
                stale_evaluations(context.instance, db, context.run.run_id)
                if table == "fact_daily_bar" and staged_run is None
                else []
            )
        record_partition_rows(context, written)
        metadata: dict[str, Any] = {"rows_in_run": inserted, "range": f"{start}..{end}"}
        if evaluations:
            metadata["stale_rows"] = MetadataValue.json(
                {e.asset_key.path[-1]: e.metadata["failed_rows"].value for e in evaluations}
            )
            yield from evaluations
        if not per_symbol:  # a few rows a date: the latest date's rows as a preview
            record_latest_preview(context, rows.to_pandas())
        result = MaterializeResult(metadata=metadata, check_results=checks)
        yield from with_run_checks(context, result)

    return load


def _daily_bar_rows(daily: pa.Table) -> pa.Table:
    """Daily bars with their session completeness (model.SESSION_COMPLETENESS)."""
    return with_session_completeness(daily, {s.symbol: s.calendar for s in load_universe()})


def _audited_relation(table: str, staged_run: str | None) -> str:
    """Where a load is audited: the table, or in a staged run the run's staging table (a
    fact's holds exactly the range's rows, a dimension's its whole new content)."""
    return table if staged_run is None else staged_relation(staged_run, table)


class DimSymbolConfig(Config):
    """When the universe file's current content takes effect."""

    effective_date: str = Field(
        default="", description="ISO date the versions opened by this load start; default today"
    )


@asset(
    group_name="warehouse",
    check_specs=check_specs("dim_symbol", blocking=["one_current_version"]),
    kinds=WAREHOUSE_KINDS,
    pool=WAREHOUSE_POOL,
)
def dim_symbol(config: DimSymbolConfig, warehouse: WarehouseResource) -> MaterializeResult:
    """Type 2 symbol dimension from the universe file: a changed attribute (sector, name,
    exchange, vendor ids, ...) closes the symbol's current version and opens a new one valid
    from the effective date; reloading an unchanged universe changes nothing."""
    effective = (
        date.fromisoformat(config.effective_date)
        if config.effective_date
        else datetime.now(UTC).date()
    )
    universe = load_universe()
    db = warehouse.get_warehouse()
    staged_run = warehouse.staged_run
    outcome = db.load_symbols(symbol_rows(universe), effective=effective, staged_run=staged_run)
    relation = _audited_relation("dim_symbol", staged_run)
    versions = db.query(symbol_versions_sql(relation))
    result = one_current_version_result(versions, [s.symbol for s in universe])
    current = db.query(current_symbols_sql(relation))
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(versions),
            PREVIEW: MetadataValue.md(current.to_markdown(index=False)),
            "effective_date": effective.isoformat(),
            "versions_opened": outcome.opened,
            "versions_closed": outcome.closed,
            "symbols_unchanged": outcome.unchanged,
        },
        check_results=[check_result("one_current_version", result)],
    )


@asset(
    group_name="warehouse",
    check_specs=check_specs("dim_date", blocking=["unique_key"]),
    kinds=WAREHOUSE_KINDS,
    pool=WAREHOUSE_POOL,
)
def dim_date(warehouse: WarehouseResource) -> MaterializeResult:
    """Calendar dates from HISTORY_START to the end of next year: calendar attributes and each
    exchange's trading-day flag (its symbols' calendar). Its preview: the dates up to today."""
    end = date(date.today().year + 1, 12, 31)
    start = partition_values().history_start
    rows = date_rows(start, end, load_universe())
    db = warehouse.get_warehouse()
    loaded = db.replace_all("dim_date", rows, staged_run=warehouse.staged_run)
    stored = db.query(date_keys_sql(_audited_relation("dim_date", warehouse.staged_run)))
    dates = rows.to_pandas()
    recent = dates[dates["date"] <= date.today()].tail(PREVIEW_ROWS)
    return MaterializeResult(
        metadata={
            "dagster/row_count": loaded,
            "range": f"{start}..{end}",
            PREVIEW: preview(recent),
        },
        check_results=[check_result("unique_key", unique_dates_result(stored))],
    )


def build_assets(partitions: GraphPartitions) -> list[AssetsDefinition]:
    """The fact loads on `partitions`, and the dimensions."""
    return [
        # On the signal path too: the signal and risk loads depend on it (their bars' watermark).
        fact_asset(
            partitions,
            "fact_daily_bar",
            "daily_bars",
            DAILY_BARS,
            signal_path=True,
            derive=_daily_bar_rows,
        ),
        fact_asset(partitions, "fact_intraday_bar", "intraday_bars", INTRADAY_BARS),
        fact_asset(partitions, "fact_indicator", "technical_indicators", INDICATORS),
        fact_asset(partitions, "fact_signal", "trading_signals", SIGNALS, signal_path=True),
        fact_asset(partitions, "fact_risk", "risk_metrics", RISK, signal_path=True),
        fact_asset(partitions, "fact_portfolio_risk", "portfolio_risk", PORTFOLIO_RISK),
        fact_asset(partitions, "fact_correlation", "correlation_matrix", CORRELATION),
        dim_symbol,
        dim_date,
    ]
