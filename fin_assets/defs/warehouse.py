"""Warehouse layer: dimensions and fact tables, loaded idempotently from the lake.

Every fact load replaces exactly the run's partition range (symbols × dates) in one
transaction, so re-running any partition or range leaves exactly one row per key, and a failed
load leaves the previous content intact.
"""

from datetime import date

import pandas as pd
import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    PartitionsDefinition,
    asset,
)

from fin_assets.analytics.market_calendar import sessions_in_range
from fin_assets.analytics.quality import RuleResult
from fin_assets.analytics.schemas import (
    CORRELATION,
    DAILY_BARS,
    INDICATORS,
    PORTFOLIO_RISK,
    RISK,
    SIGNALS,
)
from fin_assets.defs.checks import check_result, check_specs
from fin_assets.defs.lake_io import calendar_dates, read_scope
from fin_assets.defs.partition_scope import PartitionScope, date_scope, date_symbol_scope
from fin_assets.defs.partitions import HISTORY_START, date_partitions, date_symbol_partitions
from fin_assets.resources.storage import DuckDBWarehouseResource, LakeResource
from fin_assets.universe import load_universe

FACT_CHECKS = ["rows_match_lake", "unique_key"]
# Steps writing the DuckDB file share this pool (limit 1): one writer process at a time.
WAREHOUSE_POOL = "duckdb_warehouse"


def _keys_result(name: str, warehouse_rows: pd.DataFrame, lake_rows: int) -> list[RuleResult]:
    """Compare the warehouse's rows for the loaded range with the lake's."""
    stored, distinct = int(warehouse_rows["stored"].iloc[0]), int(warehouse_rows["keys"].iloc[0])
    empty = pd.DataFrame()
    return [
        RuleResult(
            rule="rows_match_lake",
            passed=stored == lake_rows,
            failed_rows=abs(stored - lake_rows),
            checked_rows=lake_rows,
            sample=empty,
            detail=f"{name}: {stored} rows in the warehouse for the range, {lake_rows} in the lake",
        ),
        RuleResult(
            rule="unique_key",
            passed=stored == distinct,
            failed_rows=stored - distinct,
            checked_rows=stored,
            sample=empty,
            detail=f"{name}: {stored} rows, {distinct} distinct keys in the loaded range",
        ),
    ]


def fact_asset(
    table: str, source: str, schema: pa.Schema, columns: list[str], keys: list[str]
) -> AssetsDefinition:
    """An asset loading lake dataset `source` into warehouse `table` for the run's range."""
    per_symbol = "symbol" in keys
    partitions_def: PartitionsDefinition = date_symbol_partitions if per_symbol else date_partitions

    @asset(
        name=table,
        group_name="warehouse",
        partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run(),
        deps=[source],
        check_specs=check_specs(table, blocking=FACT_CHECKS),
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
        description=f"Warehouse table {table}, one row per ({', '.join(keys)}), from {source}.",
    )
    def load(
        context: AssetExecutionContext, lake: LakeResource, warehouse: DuckDBWarehouseResource
    ) -> MaterializeResult:
        store, db = lake.get_lake(), warehouse.get_warehouse()
        if per_symbol:
            scope: PartitionScope = date_symbol_scope(context)
            frame = read_scope(store, source, schema, scope)
            start, end, symbols = scope.start, scope.end, list(scope.symbols)
        else:
            dates = date_scope(context)
            frame = store.read_partitions(source, schema, dates).to_pandas()
            start, end, symbols = dates[0], dates[-1], None
        rows = pa.Table.from_pandas(frame[columns], preserve_index=False)
        inserted = db.replace_range(table, rows, start=start, end=end, symbols=symbols)
        where = "trade_date BETWEEN ? AND ?"
        params: list[object] = [start, end]
        if symbols is not None:
            where += f" AND symbol IN ({', '.join('?' for _ in symbols)})"
            params += symbols
        counts = db.query(
            f"SELECT count(*) AS stored, count(DISTINCT ({', '.join(keys)})) AS keys "
            f"FROM {table} WHERE {where}",
            params,
        )
        results = _keys_result(table, counts, len(frame))
        return MaterializeResult(
            metadata={"dagster/row_count": inserted, "range": f"{start}..{end}"},
            check_results=[check_result(r.rule, r) for r in results],
        )

    return load


fact_daily_bar = fact_asset(
    "fact_daily_bar",
    "daily_bars",
    DAILY_BARS,
    ["symbol", "trade_date", "open", "high", "low", "close", "volume"],
    ["symbol", "trade_date"],
)
fact_indicator = fact_asset(
    "fact_indicator",
    "technical_indicators",
    INDICATORS,
    [name for name in INDICATORS.names if name != "close"],
    ["symbol", "trade_date"],
)
fact_signal = fact_asset(
    "fact_signal", "trading_signals", SIGNALS, SIGNALS.names, ["symbol", "trade_date", "signal"]
)
fact_risk = fact_asset(
    "fact_risk",
    "risk_metrics",
    RISK,
    [name for name in RISK.names if name != "close"],
    ["symbol", "trade_date"],
)
fact_portfolio_risk = fact_asset(
    "fact_portfolio_risk", "portfolio_risk", PORTFOLIO_RISK, PORTFOLIO_RISK.names, ["trade_date"]
)
fact_correlation = fact_asset(
    "fact_correlation",
    "correlation_matrix",
    CORRELATION,
    CORRELATION.names,
    ["trade_date", "symbol_a", "symbol_b"],
)


def _unique_result(frame: pd.DataFrame, key: str) -> RuleResult:
    duplicated = frame[frame[key].duplicated(keep=False)]
    return RuleResult(
        rule="unique_key",
        passed=duplicated.empty,
        failed_rows=len(duplicated),
        checked_rows=len(frame),
        sample=duplicated.head(20),
        detail=f"{len(duplicated)} rows share a {key}",
    )


@asset(
    group_name="warehouse",
    check_specs=check_specs("dim_symbol", blocking=["unique_key"]),
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
)
def dim_symbol(warehouse: DuckDBWarehouseResource) -> MaterializeResult:
    """One row per symbol of the universe file, with its vendor ids."""
    frame = pd.DataFrame(
        [
            {
                "symbol": s.symbol,
                "name": s.name,
                "asset_class": s.asset_class,
                "exchange": s.exchange,
                "calendar": s.calendar,
                "currency": s.currency,
                "timezone": s.timezone,
                "sector": s.sector,
                "alphavantage_id": s.vendor_ids["alphavantage"],
                "coingecko_id": s.vendor_ids["coingecko"],
                "yahoo_id": s.vendor_ids["yahoo"],
            }
            for s in load_universe()
        ]
    )
    rows = warehouse.get_warehouse().replace_all(
        "dim_symbol", pa.Table.from_pandas(frame, preserve_index=False)
    )
    return MaterializeResult(
        metadata={"dagster/row_count": rows},
        check_results=[check_result("unique_key", _unique_result(frame, "symbol"))],
    )


@asset(
    group_name="warehouse",
    check_specs=check_specs("dim_date", blocking=["unique_key"]),
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
)
def dim_date(warehouse: DuckDBWarehouseResource) -> MaterializeResult:
    """Calendar dates from HISTORY_START to the end of next year, with XNYS session flags."""
    end = date(date.today().year + 1, 12, 31)
    dates = calendar_dates(HISTORY_START, end)
    sessions = set(sessions_in_range("XNYS", HISTORY_START, end))
    frame = pd.DataFrame(
        {
            "date_key": [d.year * 10000 + d.month * 100 + d.day for d in dates],
            "date": dates,
            "year": [d.year for d in dates],
            "quarter": [(d.month - 1) // 3 + 1 for d in dates],
            "month": [d.month for d in dates],
            "day": [d.day for d in dates],
            "day_of_week": [d.isoweekday() for d in dates],
            "is_weekend": [d.isoweekday() >= 6 for d in dates],
            "is_xnys_session": [d in sessions for d in dates],
        }
    )
    rows = warehouse.get_warehouse().replace_all(
        "dim_date", pa.Table.from_pandas(frame, preserve_index=False)
    )
    return MaterializeResult(
        metadata={"dagster/row_count": rows, "range": f"{HISTORY_START}..{end}"},
        check_results=[check_result("unique_key", _unique_result(frame, "date_key"))],
    )
