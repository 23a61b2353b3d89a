"""The warehouse interface and the load algorithms every SQL engine shares.

`Warehouse` is what the assets use; `SqlWarehouse` implements it once over an engine `Session`
(DuckDB in `warehouse_duckdb`, Snowflake in `warehouse_snowflake`), so both engines run the
same SQL:

- the schema comes from the numbered migrations of `fin_assets.warehouse.migrations`;
- a fact load stages the rows in bulk (an Arrow table registered in DuckDB; Parquet PUT to a
  stage and COPY INTO a load table on Snowflake), then in ONE transaction deletes the target's
  rows of the partition range and inserts the staged rows. Re-running a range, or loading two
  overlapping ranges, leaves one row per key; any failure rolls back to the previous content;
- bar lineage (`fin_assets.warehouse.model`): a fact_daily_bar load keeps the rows whose values
  are unchanged (and their changed_at) and stamps new and changed bars with the load time; a
  derived fact's rows get the watermark of their look-back's bars (bars_changed_at);
- `dim_symbol` is a type 2 dimension (see `fin_assets.warehouse.model`): `load_symbols` closes
  the current version of every changed or removed symbol and opens a new version, in one
  transaction; unchanged symbols are not touched.

Staged loads (write-audit-publish for a run, docs/reliability.md): `replace_range` with
`staged_run` puts the rows in a run-scoped table `wap."<run id>__<table>"` and records the range
in `wap.staged_loads`; the target table is not touched. `publish_staged` applies every staged
load of the run in ONE transaction (delete the range, insert the staged rows) and marks the
loads published in that same transaction; `drop_staged` removes the run's staging tables and
records (after publication, or to discard a failed run's loads). The dimensions are staged
whole (WHOLE_TABLES): `replace_all` with `staged_run` stages dim_date's new content,
`load_symbols` with `staged_run` applies the type 2 load to a staged copy of dim_symbol; their
loads are recorded over [FIRST_VALID_FROM, OPEN_VALID_TO] and publication replaces the whole
table. The `wap` schema is staging space created on first use, not part of the model (no
migration).

Rows are validated before the engine sees them (column types, range, symbols); NaN floats are
stored as NULL, SQL's missing value, which BI tools understand.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fin_assets.warehouse.migrations import MIGRATIONS_TABLE_SQL, migrations, pending
from fin_assets.warehouse.model import (
    FIRST_VALID_FROM,
    OPEN_VALID_TO,
    SYMBOL_ATTRIBUTES,
    SYMBOL_SOURCE,
    TABLES,
    WATERMARK_VIEWS,
    TableSpec,
    attributes_hash,
)

# Tables loaded whole by replace_all (dim_symbol keeps its history: load_symbols).
FULL_REPLACE_TABLES = ("dim_date",)
# Tables whose staged load replaces the whole table at publication (module docstring).
WHOLE_TABLES = ("dim_symbol", *FULL_REPLACE_TABLES)
MAX_LISTED_KEYS = 5
# Run-scoped staging space (module docstring).
STAGING_SCHEMA = "wap"
STAGED_LOADS = f"{STAGING_SCHEMA}.staged_loads"
_STAGING_DDL = (
    f"CREATE SCHEMA IF NOT EXISTS {STAGING_SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {STAGED_LOADS} (run_id VARCHAR NOT NULL, "
    "table_name VARCHAR NOT NULL, start_date DATE NOT NULL, end_date DATE NOT NULL, "
    "symbols VARCHAR, published BOOLEAN NOT NULL, PRIMARY KEY (run_id, table_name))",
)


class LoadRejected(ValueError):
    """A load was refused; the warehouse is unchanged."""


@dataclass(frozen=True)
class SymbolLoad:
    """Outcome of a dim_symbol load: versions opened, versions closed, symbols unchanged."""

    opened: int
    closed: int
    unchanged: int


class Warehouse(Protocol):
    """What the assets need from a warehouse engine."""

    def ensure_schema(self) -> None:
        """Apply the pending migrations (idempotent)."""

    def connected(self) -> AbstractContextManager[None]:
        """A block whose sessions may share one connection (a step's load and checks)."""

    def replace_range(
        self,
        table: str,
        rows: pa.Table,
        *,
        start: date,
        end: date,
        symbols: Sequence[str] | None = None,
        staged_run: str | None = None,
    ) -> int:
        """Atomically replace a fact table's rows of [start, end] (and symbols) by `rows`,
        or stage that replacement for run `staged_run` (applied by `publish_staged`)."""

    def publish_staged(self, run_id: str) -> int:
        """Apply the run's staged loads in one transaction; the loads applied."""

    def is_published(self, run_id: str) -> bool:
        """Whether the run's staged loads were published."""

    def drop_staged(self, run_id: str) -> None:
        """Forget the run's staged loads and drop their rows."""

    def replace_all(self, table: str, rows: pa.Table, staged_run: str | None = None) -> int:
        """Atomically replace a whole table of FULL_REPLACE_TABLES by `rows`, or stage that
        replacement for run `staged_run`."""

    def load_symbols(
        self, rows: pa.Table, *, effective: date, staged_run: str | None = None
    ) -> SymbolLoad:
        """Apply the universe's symbols (SYMBOL_SOURCE rows) to the type 2 dim_symbol, or
        to run `staged_run`'s staged copy of it."""

    def row_counts(self) -> dict[str, int]:
        """Row count of every table."""

    def query(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """Run a read-only query; column names in lower case."""


class Session(Protocol):
    """One open connection of an engine, with `?` parameters."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame: ...

    def stage(self, name: str, rows: pa.Table) -> str:
        """Make `rows` queryable under a relation name (returned) until `unstage`."""

    def unstage(self, relation: str) -> None: ...

    def begin(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


def _spec(table: str) -> TableSpec:
    if table not in TABLES:
        raise ValueError(f"unknown warehouse table {table!r}; known: {sorted(TABLES)}")
    return TABLES[table]


def _nan_to_null(rows: pa.Table) -> pa.Table:
    for index, field in enumerate(rows.schema):
        if pa.types.is_floating(field.type):
            column = rows.column(index)
            nulled = pc.if_else(pc.is_nan(column), pa.scalar(None, field.type), column)
            rows = rows.set_column(index, field, nulled)
    return rows


def conform(name: str, schema: pa.Schema, rows: pa.Table) -> pa.Table:
    """`rows` with exactly `schema`'s columns (extra ones dropped), cast, NaN turned to null."""
    absent = [column for column in schema.names if column not in rows.column_names]
    if absent:
        raise LoadRejected(f"{name}: rows lack columns {absent}")
    try:
        selected = rows.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as error:
        raise LoadRejected(f"{name}: rows do not cast to {schema}: {error}") from error
    return _nan_to_null(selected)


def _check_range(
    spec: TableSpec, rows: pa.Table, start: date, end: date, symbols: Sequence[str] | None
) -> None:
    if not spec.is_fact:
        raise ValueError(f"{spec.name} is a dimension, not loaded by date range")
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    outside = pc.or_(
        pc.less(rows["trade_date"], pa.scalar(start, pa.date32())),
        pc.greater(rows["trade_date"], pa.scalar(end, pa.date32())),
    )
    if pc.any(outside).as_py():
        found = pc.min_max(rows["trade_date"]).as_py()
        raise LoadRejected(
            f"{spec.name}: rows span {found['min']}..{found['max']}, outside [{start}, {end}]"
        )
    if symbols is None:
        return
    if "symbol" not in spec.key:
        raise ValueError(f"{spec.name} has no symbol column: pass symbols=None")
    foreign = set(pc.unique(rows["symbol"]).to_pylist()) - set(symbols) - {None}
    if foreign:
        raise LoadRejected(
            f"{spec.name}: rows hold symbols {sorted(foreign)} not in {list(symbols)}"
        )


def _check_symbol_source(rows: pa.Table) -> None:
    symbols = rows["symbol"].to_pylist()
    duplicated = sorted({s for s in symbols if symbols.count(s) > 1})
    if duplicated:
        raise LoadRejected(f"dim_symbol: symbols {duplicated} appear more than once")
    for record in rows.to_pylist():
        expected = attributes_hash([record[name] for name in SYMBOL_ATTRIBUTES])
        if record["attributes_hash"] != expected:
            raise LoadRejected(f"dim_symbol: attributes_hash of {record['symbol']} is not theirs")


def staged_relation(run_id: str, table: str) -> str:
    """The run-scoped staging table holding a run's rows for `table`."""
    _spec(table)
    if not run_id.replace("-", "").isalnum():
        raise ValueError(f"invalid run id {run_id!r}")
    return f'{STAGING_SCHEMA}."{run_id}__{table}"'


def _create_staged(session: Session, spec: TableSpec, run_id: str, source: str) -> None:
    """(Re)create the run's staging table of `spec` with the rows of relation `source`."""
    relation = staged_relation(run_id, spec.name)
    session.execute(f"DROP TABLE IF EXISTS {relation}")
    session.execute(
        f"CREATE TABLE {relation} AS SELECT {', '.join(spec.schema.names)} FROM {source}"
    )


def _record_staged_load(
    session: Session,
    table: str,
    run_id: str,
    start: date,
    end: date,
    symbols: Sequence[str] | None,
) -> None:
    """Record (or re-record) the run's staged load of `table`, not published."""
    listed = None if symbols is None else json.dumps(list(symbols))
    session.execute(
        f"DELETE FROM {STAGED_LOADS} WHERE run_id = ? AND table_name = ?", [run_id, table]
    )
    session.execute(
        f"INSERT INTO {STAGED_LOADS} VALUES (?, ?, ?, ?, ?, FALSE)",
        [run_id, table, start, end, listed],
    )


def _range_where(start: date, end: date, symbols: Sequence[str] | None) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) of a fact table's partition range."""
    where, params = "trade_date BETWEEN ? AND ?", [start, end]
    if symbols is None:
        return where, params
    return f"{where} AND symbol IN ({_placeholders(symbols)})", [*params, *symbols]


def _reject_duplicates(session: Session, spec: TableSpec, staged: str) -> None:
    """LoadRejected naming a few keys when two staged rows share one."""
    keys = ", ".join(spec.key)
    duplicated = session.fetch(
        f"SELECT {keys}, count(*) AS n FROM {staged} GROUP BY {keys} "
        f"HAVING count(*) > 1 ORDER BY {keys} LIMIT {MAX_LISTED_KEYS}"
    )
    if not duplicated.empty:
        listed = duplicated[list(spec.key)].to_dict("records")
        raise LoadRejected(
            f"{spec.name}: load rejected, nothing changed: duplicate key "
            f"({keys}) in the rows, e.g. {listed}"
        )


def _bars_first(load: Any) -> bool:
    """Sort key publishing fact_daily_bar's load before the facts whose lineage reads it."""
    return _spec(load.table_name).lineage != "bars"


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _in_transaction(session: Session, work: Callable[[], None]) -> None:
    """Run `work` in a transaction: commit on success, roll back on any failure."""
    session.begin()
    try:
        work()
    except BaseException:
        session.rollback()
        raise
    session.commit()


# The staged symbols without a current version: new symbols and those whose version was closed.
_NEW_VERSIONS = """
FROM {staged} s
CROSS JOIN (SELECT coalesce(max(symbol_key), 0) AS max_key FROM {target}) k
LEFT JOIN (SELECT DISTINCT symbol FROM {target}) h ON h.symbol = s.symbol
LEFT JOIN {target} c ON c.symbol = s.symbol AND c.is_current
WHERE c.symbol IS NULL
"""


class SqlWarehouse(ABC):
    """`Warehouse` over an engine's `Session`; subclasses open sessions and name the engine."""

    engine: str
    # Whether DDL takes part in transactions (DuckDB); Snowflake commits each DDL statement.
    transactional_ddl: bool

    @abstractmethod
    def session(self, read_only: bool = False) -> AbstractContextManager[Session]:
        """An open session, closed on exit."""

    def connected(self) -> AbstractContextManager[None]:
        """A block whose sessions may share one connection; by default each opens its own."""
        return nullcontext()

    def migration_variables(self) -> dict[str, str]:
        """Values of the `{name}` tokens of the migrations."""
        return {"materialized_view": "VIEW"}

    def ensure_schema(self) -> None:
        """Apply the pending migrations in order, each with its record in schema_migrations.

        With transactional DDL a migration and its record commit together; otherwise each
        statement commits alone, and the idempotent statements make a re-run after a crash safe.
        """
        known = migrations(self.engine, self.migration_variables())
        with self.session() as session:
            session.execute(MIGRATIONS_TABLE_SQL)
            recorded = session.fetch("SELECT version, checksum FROM schema_migrations")
            applied = dict(zip(recorded["version"].astype(int), recorded["checksum"], strict=True))
            for migration in pending(known, applied):

                def apply(session: Session = session, migration=migration) -> None:
                    for statement in migration.statements:
                        session.execute(statement)
                    session.execute(
                        "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                        "SELECT ?, ?, ?, CURRENT_TIMESTAMP WHERE NOT EXISTS "
                        "(SELECT 1 FROM schema_migrations WHERE version = ?)",
                        [migration.version, migration.name, migration.checksum, migration.version],
                    )

                if self.transactional_ddl:
                    _in_transaction(session, apply)
                else:
                    apply()

    def replace_range(
        self,
        table: str,
        rows: pa.Table,
        *,
        start: date,
        end: date,
        symbols: Sequence[str] | None = None,
        staged_run: str | None = None,
    ) -> int:
        """Idempotently load a partition range; returns the number of rows inserted.

        In one transaction: delete the rows with trade_date in [start, end] (both inclusive)
        and, when `symbols` is given, symbol in `symbols`; then insert `rows`. Rows outside
        that range or those symbols, or two rows with one key, raise LoadRejected; any failure
        rolls back and leaves the table as it was. With `staged_run` the load is staged for
        that run instead (module docstring): the table changes when the run is published.
        """
        spec = _spec(table)
        conformed = conform(spec.name, spec.schema, rows)
        _check_range(spec, conformed, start, end, symbols)
        if symbols is not None and not symbols:
            return 0
        if staged_run is not None:
            return self._stage(spec, conformed, staged_run, start, end, symbols)
        where, params = _range_where(start, end, symbols)
        return self._replace(spec, conformed, where, params)

    def _stage(
        self,
        spec: TableSpec,
        rows: pa.Table,
        run_id: str,
        start: date,
        end: date,
        symbols: Sequence[str] | None,
    ) -> int:
        with self.session() as session:
            for statement in _STAGING_DDL:
                session.execute(statement)
            staged = session.stage(spec.name, rows)

            def apply() -> None:
                _reject_duplicates(session, spec, staged)
                _create_staged(session, spec, run_id, staged)
                _record_staged_load(session, spec.name, run_id, start, end, symbols)

            try:
                _in_transaction(session, apply)
            finally:
                session.unstage(staged)
        return rows.num_rows

    def _staged_loads(self, session: Session, run_id: str) -> pd.DataFrame:
        """The run's staged loads (none when nothing was ever staged)."""
        for statement in _STAGING_DDL:
            session.execute(statement)
        return session.fetch(
            f"SELECT table_name, start_date, end_date, symbols, published FROM {STAGED_LOADS} "
            "WHERE run_id = ? ORDER BY table_name",
            [run_id],
        )

    def publish_staged(self, run_id: str) -> int:
        """Apply every unpublished staged load of the run in one transaction and mark them
        published in it; returns the loads applied (0 when there were none or all were)."""
        with self.session() as session:
            loads = self._staged_loads(session, run_id)
            pending_loads = loads[~loads["published"].astype(bool)]

            def apply() -> None:
                for load in sorted(pending_loads.itertuples(), key=_bars_first):
                    spec = _spec(load.table_name)
                    symbols = None if load.symbols is None else json.loads(load.symbols)
                    where, params = (
                        ("1 = 1", [])
                        if spec.name in WHOLE_TABLES
                        else _range_where(
                            pd.Timestamp(load.start_date).date(),
                            pd.Timestamp(load.end_date).date(),
                            symbols,
                        )
                    )
                    staged = staged_relation(run_id, spec.name)
                    for statement, values in _load_statements(spec, staged, where, params):
                        session.execute(statement, values)
                session.execute(
                    f"UPDATE {STAGED_LOADS} SET published = TRUE WHERE run_id = ?", [run_id]
                )

            if not pending_loads.empty:
                _in_transaction(session, apply)
        return len(pending_loads)

    def is_published(self, run_id: str) -> bool:
        """Whether the run has staged loads, all published (`publish_staged` committed)."""
        with self.session() as session:
            loads = self._staged_loads(session, run_id)
        return not loads.empty and bool(loads["published"].astype(bool).all())

    def drop_staged(self, run_id: str) -> None:
        """Drop the run's staging tables and forget its staged loads (published or not)."""
        with self.session() as session:
            loads = self._staged_loads(session, run_id)
            for table in loads["table_name"]:
                session.execute(f"DROP TABLE IF EXISTS {staged_relation(run_id, table)}")
            session.execute(f"DELETE FROM {STAGED_LOADS} WHERE run_id = ?", [run_id])

    def replace_all(self, table: str, rows: pa.Table, staged_run: str | None = None) -> int:
        """Replace a whole table of FULL_REPLACE_TABLES in one transaction, or stage that
        replacement for run `staged_run` (module docstring); returns its rows."""
        spec = _spec(table)
        if table not in FULL_REPLACE_TABLES:
            raise ValueError(f"{table} is not replaced whole; only {FULL_REPLACE_TABLES} are")
        conformed = conform(spec.name, spec.schema, rows)
        if staged_run is not None:
            return self._stage(spec, conformed, staged_run, FIRST_VALID_FROM, OPEN_VALID_TO, None)
        return self._replace(spec, conformed, "1 = 1", [])

    def load_symbols(
        self, rows: pa.Table, *, effective: date, staged_run: str | None = None
    ) -> SymbolLoad:
        """Apply SYMBOL_SOURCE rows to dim_symbol as of `effective`, in one transaction; with
        `staged_run`, to the run's staged copy of dim_symbol (module docstring).

        A current version whose attributes_hash differs from the incoming row's, or whose
        symbol is absent from `rows`, is closed (valid_to = effective, is_current false); every
        incoming symbol left without a current version gets one, valid from `effective` (from
        FIRST_VALID_FROM for a symbol never seen). Unchanged symbols are untouched, so a reload
        changes nothing. An `effective` date before a current version's valid_from raises
        LoadRejected (history is only appended).
        """
        conformed = conform("dim_symbol", SYMBOL_SOURCE, rows)
        _check_symbol_source(conformed)
        columns = ", ".join(SYMBOL_SOURCE.names)
        source = ", ".join(f"s.{name}" for name in SYMBOL_SOURCE.names)
        spec = _spec("dim_symbol")
        with self.session() as session:
            target = spec.name
            if staged_run is not None:
                for statement in _STAGING_DDL:
                    session.execute(statement)
                _create_staged(session, spec, staged_run, spec.name)
                target = staged_relation(staged_run, spec.name)
            staged = session.stage("dim_symbol_source", conformed)
            outcome: list[SymbolLoad] = []

            def apply() -> None:
                later = session.fetch(
                    f"SELECT count(*) AS n FROM {target} WHERE is_current AND valid_from > ?",
                    [effective],
                )
                if int(later["n"].iloc[0]):
                    raise LoadRejected(f"dim_symbol: versions start after {effective}")
                closing = session.fetch(
                    f"SELECT d.symbol_key FROM {target} d LEFT JOIN {staged} s "
                    "ON s.symbol = d.symbol AND s.attributes_hash = d.attributes_hash "
                    "WHERE d.is_current AND s.symbol IS NULL"
                )["symbol_key"].tolist()
                if closing:
                    session.execute(
                        f"UPDATE {target} SET valid_to = ?, is_current = FALSE "
                        f"WHERE symbol_key IN ({_placeholders(closing)})",
                        [effective, *map(int, closing)],
                    )
                new = _NEW_VERSIONS.format(staged=staged, target=target)
                opening = int(session.fetch(f"SELECT count(*) AS n {new}")["n"].iloc[0])
                session.execute(
                    f"INSERT INTO {target} (symbol_key, {columns}, valid_from, valid_to, "
                    "is_current) "
                    f"SELECT k.max_key + row_number() OVER (ORDER BY s.symbol), {source}, "
                    f"CASE WHEN h.symbol IS NULL THEN ? ELSE ? END, ?, TRUE {new}",
                    [FIRST_VALID_FROM, effective, OPEN_VALID_TO],
                )
                outcome.append(SymbolLoad(opening, len(closing), conformed.num_rows - opening))
                if staged_run is not None:
                    _record_staged_load(
                        session, spec.name, staged_run, FIRST_VALID_FROM, OPEN_VALID_TO, None
                    )

            try:
                _in_transaction(session, apply)
            finally:
                session.unstage(staged)
        return outcome[0]

    def row_counts(self) -> dict[str, int]:
        """Row count of every table, in TABLES order."""
        counts = self.query(
            " UNION ALL ".join(
                f"SELECT '{name}' AS name, count(*) AS n FROM {name}" for name in TABLES
            )
        )
        found = dict(zip(counts["name"], counts["n"].astype(int), strict=True))
        return {name: found[name] for name in TABLES}

    def query(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """Run `sql` (with optional `?` parameters) on a read-only session."""
        with self.session(read_only=True) as session:
            return session.fetch(sql, params or [])

    def _replace(self, spec: TableSpec, rows: pa.Table, where: str, params: list[Any]) -> int:
        with self.session() as session:
            staged = session.stage(spec.name, rows)

            def apply() -> None:
                _reject_duplicates(session, spec, staged)
                for statement, values in _load_statements(spec, staged, where, params):
                    session.execute(statement, values)

            try:
                _in_transaction(session, apply)
            finally:
                session.unstage(staged)
        return rows.num_rows


def _load_statements(
    spec: TableSpec, staged: str, where: str, params: list[Any]
) -> list[tuple[str, list[Any]]]:
    """The statements replacing `spec`'s rows matching `where` by the staged rows, with their
    parameters, setting the table's lineage column (module docstring).

    Without lineage: delete, then insert. fact_daily_bar ("bars"): delete the rows without an
    identical staged row, then insert the staged rows whose key is left free, stamped with the
    load time (UTC). A derived fact: delete, then insert with its look-back's watermark.
    """
    columns = ", ".join(spec.schema.names)
    staged_columns = ", ".join(f"s.{name}" for name in spec.schema.names)
    table = spec.name
    if spec.lineage is None:
        return [
            (f"DELETE FROM {table} WHERE {where}", params),
            (f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staged}", []),
        ]
    if spec.lineage == "bars":
        identical = " AND ".join(
            f"s.{name} IS NOT DISTINCT FROM {table}.{name}" for name in spec.schema.names
        )
        same_key = " AND ".join(f"t.{name} = s.{name}" for name in spec.key)
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        return [
            (
                f"DELETE FROM {table} WHERE {where} "
                f"AND NOT EXISTS (SELECT 1 FROM {staged} s WHERE {identical})",
                params,
            ),
            (
                f"INSERT INTO {table} ({columns}, {spec.lineage_column}) "
                f"SELECT {staged_columns}, ? FROM {staged} s "
                f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {same_key})",
                [loaded_at],
            ),
        ]
    view = WATERMARK_VIEWS[spec.lineage]
    on = "w.trade_date = s.trade_date"
    if spec.lineage == "symbol":
        on += " AND w.symbol = s.symbol"
    return [
        (f"DELETE FROM {table} WHERE {where}", params),
        (
            f"INSERT INTO {table} ({columns}, {spec.lineage_column}) "
            f"SELECT {staged_columns}, w.bars_changed_at FROM {staged} s "
            f"LEFT JOIN {view} w ON {on}",
            [],
        ),
    ]
