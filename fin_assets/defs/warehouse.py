"""Warehouse layer: dimensions and fact tables, loaded idempotently from the lake.

Every fact load replaces exactly the run's partition range (symbols × dates) in one
transaction, so re-running any partition or range leaves exactly one row per key, and a failed
load leaves the previous content intact. In a staged run (fin_assets.defs.publish) the load is
staged, its checks are evaluated on the staged rows, and the run's publication applies it.
`dim_symbol` is a type 2 dimension fed by the universe file; `dim_date` is rebuilt whole; a
staged run stages both whole (fin_assets.resources.warehouse) and audits the staged content. The
engine (DuckDB or Snowflake) is the `warehouse` resource chosen by FIN_WAREHOUSE.

Stale rows are shown (fin_assets.warehouse.staleness): the facts derived from daily bars depend
on fact_daily_bar (loaded first, so their rows record the current bars' watermark) and carry the
WARN check `bars_current`, stating the whole table's stale rows. When bars change, that check
is re-stated on every derived fact, so the UI shows stale rows as soon as they exist: by a
staged run's publication (fin_assets.defs.publish), or by an unstaged fact_daily_bar load, which
also lists the stale rows per table in its metadata.
"""

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
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

from fin_assets.analytics.quality import RuleResult
from fin_assets.analytics.schemas import (
    CORRELATION,
    DAILY_BARS,
    INDICATORS,
    INTRADAY_BARS,
    PORTFOLIO_RISK,
    RISK,
    SIGNALS,
)
from fin_assets.defs.checks import check_result, check_specs, with_run_checks
from fin_assets.defs.partition_metadata import (
    PREVIEW,
    PREVIEW_ROWS,
    preview,
    record_latest_preview,
    record_partition_rows,
)
from fin_assets.defs.partition_scope import date_scope, date_symbol_scope
from fin_assets.defs.partitions import HISTORY_START, date_partitions, date_symbol_partitions
from fin_assets.defs.stale_checks import STALE_CHECK, stale_evaluations, stale_rows_result
from fin_assets.executors import signal_path_op_tags
from fin_assets.resources.storage import LakeResource, WarehouseResource
from fin_assets.resources.warehouse import staged_relation
from fin_assets.shared.lake_io import count_date_partitions, count_symbol_partitions
from fin_assets.universe import load_universe
from fin_assets.warehouse.model import (
    DERIVED_FROM_BARS,
    TABLES,
    date_rows,
    symbol_rows,
    with_session_completeness,
)

FACT_CHECKS = ["rows_match_lake", "unique_key"]
# Steps writing the DuckDB file share this pool (limit 1): one writer process at a time.
WAREHOUSE_POOL = "duckdb_warehouse"
WAREHOUSE_KINDS = {"duckdb", "snowflake"}  # fin_assets.defs.catalog keeps the active engine's
# The current version of every symbol, shown on dim_symbol's materialization (one row each).
PREVIEW_COLUMNS = "symbol_key, symbol, name, asset_class, exchange, sector, valid_from"
_EMPTY = pd.DataFrame()


def _keys_result(name: str, stored: int, distinct: int, lake_rows: int) -> list[RuleResult]:
    """Compare the warehouse's rows for the loaded range with the lake's."""
    return [
        RuleResult(
            rule="rows_match_lake",
            passed=stored == lake_rows,
            failed_rows=abs(stored - lake_rows),
            checked_rows=lake_rows,
            sample=_EMPTY,
            detail=f"{name}: {stored} rows in the warehouse for the range, {lake_rows} in the lake",
        ),
        RuleResult(
            rule="unique_key",
            passed=stored == distinct,
            failed_rows=stored - distinct,
            checked_rows=stored,
            sample=_EMPTY,
            detail=f"{name}: {stored} rows, {distinct} distinct keys in the loaded range",
        ),
    ]


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
    table: str,
    source: str,
    schema: pa.Schema,
    *,
    signal_path: bool = False,
    derive: Callable[[pa.Table], pa.Table] | None = None,
) -> AssetsDefinition:
    """An asset loading lake dataset `source` (read as `schema`) into warehouse `table`.

    The rows stay in Arrow from the Parquet files to the warehouse's bulk path; `derive` adds
    columns the lake does not hold; the warehouse keeps the table's columns (TABLES) and drops
    the others. `signal_path` loads run before a run's other ready steps
    (fin_assets.executors.signal_path_op_tags).
    """
    keys = list(TABLES[table].key)
    per_symbol = "symbol" in keys
    partitions_def: PartitionsDefinition = date_symbol_partitions if per_symbol else date_partitions
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
            rows = pa.concat_tables(
                [store.read_partitions(source, schema, scope.dates, symbol=s) for s in symbols]
            )
            written = count_symbol_partitions(rows, scope)
        else:
            dates = date_scope(context)
            start, end, symbols = dates[0], dates[-1], None
            rows = store.read_partitions(source, schema, dates)
            written = count_date_partitions(rows, dates)
        if derive is not None:
            rows = derive(rows)
        staged_run = warehouse.staged_run
        inserted = db.replace_range(
            table, rows, start=start, end=end, symbols=symbols, staged_run=staged_run
        )
        relation = _audited_relation(table, staged_run)
        where = "trade_date BETWEEN ? AND ?"
        params: list[object] = [start, end]
        if symbols is not None:
            where += f" AND symbol IN ({', '.join('?' for _ in symbols)})"
            params += symbols
        key_list = ", ".join(keys)
        counts = db.query(
            f"SELECT (SELECT count(*) FROM {relation} WHERE {where}) AS stored, "
            f"(SELECT count(*) FROM (SELECT DISTINCT {key_list} FROM {relation} WHERE {where}) "
            "k) AS distinct_keys",
            params + params,
        )
        results = _keys_result(
            table, int(counts["stored"].iloc[0]), int(counts["distinct_keys"].iloc[0]), inserted
        )
        record_partition_rows(context, written)
        checks = [check_result(r.rule, r) for r in results]
        if derived:
            stale = stale_rows_result(db, table)
            checks.append(check_result(STALE_CHECK, stale, AssetCheckSeverity.WARN))
        metadata: dict[str, Any] = {"rows_in_run": inserted, "range": f"{start}..{end}"}
        if table == "fact_daily_bar" and staged_run is None:
            # Bars changed under derived rows: their check says so now, not at their next load
            # (a staged run's bars change at its publication, which re-states the checks then).
            evaluations = stale_evaluations(context.instance, db, context.run.run_id)
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


# On the signal path too: the signal and risk loads depend on it (their bars' watermark).
fact_daily_bar = fact_asset(
    "fact_daily_bar", "daily_bars", DAILY_BARS, signal_path=True, derive=_daily_bar_rows
)
fact_intraday_bar = fact_asset("fact_intraday_bar", "intraday_bars", INTRADAY_BARS)
fact_indicator = fact_asset("fact_indicator", "technical_indicators", INDICATORS)
fact_signal = fact_asset("fact_signal", "trading_signals", SIGNALS, signal_path=True)
fact_risk = fact_asset("fact_risk", "risk_metrics", RISK, signal_path=True)
fact_portfolio_risk = fact_asset("fact_portfolio_risk", "portfolio_risk", PORTFOLIO_RISK)
fact_correlation = fact_asset("fact_correlation", "correlation_matrix", CORRELATION)


def _audited_relation(table: str, staged_run: str | None) -> str:
    """Where a load is audited: the table, or in a staged run the run's staging table (a
    fact's holds exactly the range's rows, a dimension's its whole new content)."""
    return table if staged_run is None else staged_relation(staged_run, table)


class DimSymbolConfig(Config):
    """When the universe file's current content takes effect."""

    effective_date: str = Field(
        default="", description="ISO date the versions opened by this load start; default today"
    )


def _versions_result(versions: pd.DataFrame, universe: list[str]) -> RuleResult:
    """Each universe symbol has one current version; versions of a symbol do not overlap."""
    current = versions[versions["is_current"]]
    counts = current["symbol"].value_counts()
    wrong = sorted(set(universe) - set(counts[counts == 1].index)) + sorted(
        set(current["symbol"]) - set(universe)
    )
    ordered = versions.sort_values(["symbol", "valid_from", "symbol_key"])
    previous_end = ordered.groupby("symbol")["valid_to"].shift(1)
    overlapping = ordered[previous_end > ordered["valid_from"]]
    failed = sorted(set(wrong) | set(overlapping["symbol"]))
    return RuleResult(
        rule="one_current_version",
        passed=not failed,
        failed_rows=len(failed),
        checked_rows=len(versions),
        sample=versions[versions["symbol"].isin(failed)],
        detail=f"symbols without exactly one current version or with overlapping versions: "
        f"{failed}",
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
    versions = db.query(
        f"SELECT symbol_key, symbol, valid_from, valid_to, is_current FROM {relation}"
    )
    result = _versions_result(versions, [s.symbol for s in universe])
    current = db.query(f"SELECT {PREVIEW_COLUMNS} FROM {relation} WHERE is_current ORDER BY symbol")
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


def _unique_dates_result(frame: pd.DataFrame) -> RuleResult:
    duplicated = frame[frame["date_key"].duplicated(keep=False)]
    return RuleResult(
        rule="unique_key",
        passed=duplicated.empty,
        failed_rows=len(duplicated),
        checked_rows=len(frame),
        sample=duplicated.head(20),
        detail=f"{len(duplicated)} rows share a date_key",
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
    rows = date_rows(HISTORY_START, end, load_universe())
    db = warehouse.get_warehouse()
    loaded = db.replace_all("dim_date", rows, staged_run=warehouse.staged_run)
    stored = db.query(f"SELECT date_key FROM {_audited_relation('dim_date', warehouse.staged_run)}")
    dates = rows.to_pandas()
    recent = dates[dates["date"] <= date.today()].tail(PREVIEW_ROWS)
    return MaterializeResult(
        metadata={
            "dagster/row_count": loaded,
            "range": f"{HISTORY_START}..{end}",
            PREVIEW: preview(recent),
        },
        check_results=[check_result("unique_key", _unique_dates_result(stored))],
    )
