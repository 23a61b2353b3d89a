"""The warehouse: a star schema (dimensions + facts) loaded idempotently from the lake.

`Warehouse` is the interface every backend implements (DuckDB locally, Snowflake later).
Table columns and types come from the Arrow contracts of `fin_assets.analytics.schemas`, so
the lake and the warehouse share one source of truth. Every table declares its natural key as
PRIMARY KEY: DuckDB accepts deleting and re-inserting the same keys inside one transaction,
and the constraint rejects duplicate keys within a load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fin_assets.analytics import schemas


@dataclass(frozen=True)
class TableSpec:
    """One warehouse table: its columns (Arrow types, in order) and its natural key."""

    name: str
    schema: pa.Schema
    key: tuple[str, ...]

    @property
    def is_fact(self) -> bool:
        """Facts are keyed by trade date and loaded by date range."""
        return "trade_date" in self.key


def _select(schema: pa.Schema, names: Sequence[str]) -> pa.Schema:
    return pa.schema([schema.field(name) for name in names])


def _without(schema: pa.Schema, name: str) -> pa.Schema:
    return schema.remove(schema.get_field_index(name))


DIM_SYMBOL = pa.schema(
    [
        (name, pa.string())
        for name in (
            "symbol",
            "name",
            "asset_class",
            "exchange",
            "calendar",
            "currency",
            "timezone",
            "sector",
            "alphavantage_id",
            "coingecko_id",
            "yahoo_id",
        )
    ]
)

DIM_DATE = pa.schema(
    [
        ("date_key", pa.int32()),  # yyyymmdd
        ("date", pa.date32()),
        ("year", pa.int32()),
        ("quarter", pa.int32()),
        ("month", pa.int32()),
        ("day", pa.int32()),
        ("day_of_week", pa.int32()),  # ISO: 1 = Monday ... 7 = Sunday
        ("is_weekend", pa.bool_()),
        ("is_xnys_session", pa.bool_()),
    ]
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("dim_symbol", DIM_SYMBOL, ("symbol",)),
        TableSpec("dim_date", DIM_DATE, ("date_key",)),
        TableSpec(
            "fact_daily_bar",
            _select(
                schemas.DAILY_BARS,
                ("symbol", "trade_date", "open", "high", "low", "close", "volume"),
            ),
            ("symbol", "trade_date"),
        ),
        TableSpec(
            "fact_indicator", _without(schemas.INDICATORS, "close"), ("symbol", "trade_date")
        ),
        TableSpec("fact_signal", schemas.SIGNALS, ("symbol", "trade_date", "signal")),
        TableSpec("fact_risk", _without(schemas.RISK, "close"), ("symbol", "trade_date")),
        TableSpec("fact_portfolio_risk", schemas.PORTFOLIO_RISK, ("trade_date",)),
        TableSpec("fact_correlation", schemas.CORRELATION, ("trade_date", "symbol_a", "symbol_b")),
    )
}

_DUCKDB_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.date32(): "DATE",
    pa.float64(): "DOUBLE",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.int8(): "TINYINT",
    pa.bool_(): "BOOLEAN",
    schemas.TIMESTAMP_UTC: "TIMESTAMPTZ",
}


def create_table_sql(spec: TableSpec) -> str:
    """`CREATE TABLE IF NOT EXISTS` for a spec, with its key as PRIMARY KEY."""
    columns = [f'"{field.name}" {_DUCKDB_TYPES[field.type]}' for field in spec.schema]
    key = ", ".join(f'"{name}"' for name in spec.key)
    return f"CREATE TABLE IF NOT EXISTS {spec.name} ({', '.join(columns)}, PRIMARY KEY ({key}))"


class Warehouse(Protocol):
    """What the assets need from a warehouse backend."""

    def ensure_schema(self) -> None:
        """Create every table of TABLES if absent (idempotent)."""

    def replace_range(
        self,
        table: str,
        rows: pa.Table,
        *,
        start: date,
        end: date,
        symbols: Sequence[str] | None = None,
    ) -> int:
        """Atomically replace a fact table's rows of [start, end] (and symbols) by `rows`."""

    def replace_all(self, table: str, rows: pa.Table) -> int:
        """Atomically replace a whole table by `rows`."""

    def row_counts(self) -> dict[str, int]:
        """Row count of every table."""

    def query(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """Run a read-only query."""


def _spec(table: str) -> TableSpec:
    if table not in TABLES:
        raise ValueError(f"unknown warehouse table {table!r}; known: {sorted(TABLES)}")
    return TABLES[table]


def _conform(spec: TableSpec, rows: pa.Table) -> pa.Table:
    """Select the table's columns by name (extra columns are ignored) and cast to its types."""
    absent = [name for name in spec.schema.names if name not in rows.column_names]
    if absent:
        raise ValueError(f"{spec.name}: rows lack columns {absent}")
    try:
        return rows.select(spec.schema.names).cast(spec.schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as error:
        raise ValueError(f"{spec.name}: rows do not cast to {spec.schema}: {error}") from error


def _check_range(
    spec: TableSpec, rows: pa.Table, start: date, end: date, symbols: Sequence[str] | None
) -> None:
    if not spec.is_fact:
        raise ValueError(f"{spec.name} is a dimension: load it with replace_all")
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    outside = pc.or_(
        pc.less(rows["trade_date"], pa.scalar(start, pa.date32())),
        pc.greater(rows["trade_date"], pa.scalar(end, pa.date32())),
    )
    if pc.any(outside).as_py():
        found = pc.min_max(rows["trade_date"]).as_py()
        raise ValueError(
            f"{spec.name}: rows span {found['min']}..{found['max']}, outside [{start}, {end}]"
        )
    if symbols is None:
        return
    if "symbol" not in spec.key:
        raise ValueError(f"{spec.name} has no symbol column: pass symbols=None")
    foreign = set(pc.unique(rows["symbol"]).to_pylist()) - set(symbols) - {None}
    if foreign:
        raise ValueError(f"{spec.name}: rows hold symbols {sorted(foreign)} not in {list(symbols)}")


class DuckDBWarehouse:
    """The local warehouse in one DuckDB file at `path`.

    Each operation opens its own connection and closes it, so several processes can take turns
    on the file (DuckDB allows one writer process at a time). Call `ensure_schema()` first.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def ensure_schema(self) -> None:
        """Create every table of TABLES if absent (idempotent); creates the parent folder."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(self.path) as con:
            for spec in TABLES.values():
                con.execute(create_table_sql(spec))

    def replace_range(
        self,
        table: str,
        rows: pa.Table,
        *,
        start: date,
        end: date,
        symbols: Sequence[str] | None = None,
    ) -> int:
        """Idempotently load a partition range; returns the number of rows inserted.

        In one transaction: delete the rows with trade_date in [start, end] (both inclusive)
        and, when `symbols` is given, symbol in `symbols`; then insert `rows`. Rows outside
        that range or those symbols raise ValueError before the table is touched; any failure
        during the load (e.g. duplicate keys) rolls back and leaves the table as it was.
        """
        spec = _spec(table)
        conformed = _conform(spec, rows)
        _check_range(spec, conformed, start, end, symbols)
        where, params = "trade_date BETWEEN ? AND ?", [start, end]
        if symbols is not None:
            where, params = f"{where} AND list_contains(?, symbol)", [*params, list(symbols)]
        return self._replace(spec, conformed, where, params)

    def replace_all(self, table: str, rows: pa.Table) -> int:
        """Replace a whole table by `rows` in one transaction; returns the rows inserted."""
        spec = _spec(table)
        return self._replace(spec, _conform(spec, rows), "true", [])

    def row_counts(self) -> dict[str, int]:
        """Row count of every table, in TABLES order."""
        with duckdb.connect(self.path, read_only=True) as con:
            return {
                name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in TABLES
            }

    def query(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """Run `sql` (with optional `?` or `$name` parameters) on a read-only connection."""
        with duckdb.connect(self.path, read_only=True) as con:
            return con.execute(sql, params).df()

    def _replace(self, spec: TableSpec, rows: pa.Table, where: str, params: list[Any]) -> int:
        columns = ", ".join(f'"{name}"' for name in spec.schema.names)
        with duckdb.connect(self.path) as con:
            con.register("incoming_rows", rows)
            con.begin()
            try:
                con.execute(f"DELETE FROM {spec.name} WHERE {where}", params)
                con.execute(
                    f"INSERT INTO {spec.name} ({columns}) SELECT {columns} FROM incoming_rows"
                )
                con.commit()
            except duckdb.ConstraintException as error:
                con.rollback()
                raise ValueError(f"{spec.name}: load rejected, nothing changed: {error}") from error
            except BaseException:
                con.rollback()
                raise
        return rows.num_rows
