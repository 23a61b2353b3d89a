"""The Snowflake engine of the warehouse, through dagster-snowflake's SnowflakeResource.

Same SQL and algorithms as DuckDB (`SqlWarehouse`); what differs is the session:
- parameters are bound server side with `?` (the resource must set paramstyle="qmark");
- bulk rows go through the internal stage `fin_load_stage` (migration 001,
  fin_assets.warehouse.ddl): the Arrow rows are written as one Parquet file, PUT to
  `@fin_load_stage/<load table>/`, then `COPY INTO` a transient load table
  `load_<table>_<id>` created for this load and dropped afterwards (`PURGE = TRUE` removes the
  staged file). No row-by-row INSERT;
- transactions are explicit `BEGIN` / `COMMIT` / `ROLLBACK` (DDL commits implicitly on
  Snowflake, which is why every migration statement is idempotent);
- Snowflake stores unquoted names upper case: result columns are returned lower case, and
  results come through Arrow with dates as datetime64 like DuckDB's;
- `materialized_views` renders the single-table marts as MATERIALIZED VIEW (Enterprise edition).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import EnvVar
from dagster_snowflake import SnowflakeResource
from snowflake.connector import SnowflakeConnection
from snowflake.connector.errors import IntegrityError

from fin_assets.resources.storage import WarehouseResource
from fin_assets.resources.warehouse import LoadRejected, Session, SqlWarehouse
from fin_assets.warehouse.ddl import ENGINE_TYPES, LOAD_STAGE


def load_table_sql(relation: str, schema: pa.Schema) -> str:
    """DDL of a transient load table with `schema`'s columns."""
    columns = ", ".join(f"{field.name} {ENGINE_TYPES['snowflake'][field.type]}" for field in schema)
    return f"CREATE TRANSIENT TABLE {relation} ({columns})"


class _SnowflakeSession:
    def __init__(self, con: SnowflakeConnection) -> None:
        self.con = con
        self.schema = con.schema

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        try:
            self.con.cursor().execute(sql, list(params))
        except IntegrityError as error:
            raise LoadRejected(f"load rejected, nothing changed: {error}") from error
        if sql.startswith("CREATE SCHEMA") and self.schema:
            # Snowflake makes a schema it creates the session's current one (the run staging's
            # schema, say): unqualified names stay in the connection's schema.
            self.con.cursor().execute(f"USE SCHEMA {self.schema}")

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        cursor = self.con.cursor()
        cursor.execute(sql, list(params))
        table = cursor.fetch_arrow_all(force_return_table=True)
        frame = table.to_pandas(date_as_object=False)
        return frame.rename(columns=str.lower)

    def stage(self, name: str, rows: pa.Table) -> str:
        relation = f"load_{name}_{uuid.uuid4().hex[:12]}"
        self.execute(load_table_sql(relation, rows.schema))
        if rows.num_rows == 0:
            return relation
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{relation}.parquet"
            pq.write_table(rows, path)
            self.execute(f"PUT 'file://{path}' @{LOAD_STAGE}/{relation}/ AUTO_COMPRESS = FALSE")
        self.execute(
            f"COPY INTO {relation} FROM @{LOAD_STAGE}/{relation}/ "
            "FILE_FORMAT = (TYPE = PARQUET USE_LOGICAL_TYPE = TRUE) "
            "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE PURGE = TRUE"
        )
        return relation

    def unstage(self, relation: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS {relation}")

    def begin(self) -> None:
        self.execute("BEGIN")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")


class SnowflakeWarehouse(SqlWarehouse):
    """The warehouse in the database and schema of a SnowflakeResource."""

    engine = "snowflake"
    transactional_ddl = False

    def __init__(self, snowflake: SnowflakeResource, materialized_views: bool = False) -> None:
        if snowflake.paramstyle != "qmark":
            raise ValueError("the SnowflakeResource of the warehouse needs paramstyle='qmark'")
        self.snowflake = snowflake
        self.materialized_views = materialized_views

    def migration_variables(self) -> dict[str, str]:
        """MATERIALIZED VIEW for the single-table marts when enabled."""
        return {"materialized_view": "MATERIALIZED VIEW" if self.materialized_views else "VIEW"}

    @contextmanager
    def session(self, read_only: bool = False) -> Iterator[Session]:
        """A connection of the resource (Snowflake has no read-only connections)."""
        with self.snowflake.get_connection() as con:
            yield _SnowflakeSession(con)


class SnowflakeWarehouseResource(WarehouseResource):
    """The warehouse in Snowflake, through dagster-snowflake's SnowflakeResource."""

    snowflake: SnowflakeResource
    materialized_views: bool = False

    def get_warehouse(self) -> SnowflakeWarehouse:
        warehouse = SnowflakeWarehouse(self.snowflake, self.materialized_views)
        warehouse.ensure_schema()
        return warehouse


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name, "false")
    if value not in ("true", "false"):
        raise ValueError(f"{name}={value!r}: expected true or false")
    return value == "true"


def snowflake_warehouse_from_env(
    environ: Mapping[str, str],
) -> SnowflakeWarehouseResource:
    """The Snowflake warehouse configured by environment variables (secrets stay EnvVars).

    Required: SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_DATABASE, SNOWFLAKE_SCHEMA, and
    either SNOWFLAKE_PRIVATE_KEY (key-pair auth, PEM; SNOWFLAKE_PRIVATE_KEY_PASSWORD if it is
    encrypted) or SNOWFLAKE_PASSWORD. Optional: SNOWFLAKE_WAREHOUSE, SNOWFLAKE_ROLE,
    FIN_SNOWFLAKE_MATERIALIZED_VIEWS (true|false, default false; Enterprise edition), and
    SNOWFLAKE_HOST / SNOWFLAKE_PORT / SNOWFLAKE_PROTOCOL to reach another endpoint (a private
    link, or the fakesnow server of the tests).
    """
    required = ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_DATABASE", "SNOWFLAKE_SCHEMA")
    missing = [name for name in required if name not in environ]
    if "SNOWFLAKE_PRIVATE_KEY" not in environ and "SNOWFLAKE_PASSWORD" not in environ:
        missing.append("SNOWFLAKE_PRIVATE_KEY or SNOWFLAKE_PASSWORD")
    if missing:
        raise ValueError(f"FIN_WAREHOUSE=snowflake needs {', '.join(missing)}")
    auth: dict[str, Any] = (
        {"private_key": EnvVar("SNOWFLAKE_PRIVATE_KEY")}
        if "SNOWFLAKE_PRIVATE_KEY" in environ
        else {"password": EnvVar("SNOWFLAKE_PASSWORD")}
    )
    if "SNOWFLAKE_PRIVATE_KEY" in environ and "SNOWFLAKE_PRIVATE_KEY_PASSWORD" in environ:
        auth["private_key_password"] = EnvVar("SNOWFLAKE_PRIVATE_KEY_PASSWORD")
    optional = {
        field: EnvVar(name)
        for field, name in (("warehouse", "SNOWFLAKE_WAREHOUSE"), ("role", "SNOWFLAKE_ROLE"))
        if name in environ
    }
    endpoint: dict[str, Any] = {
        field: environ[name]
        for field, name in (("host", "SNOWFLAKE_HOST"), ("protocol", "SNOWFLAKE_PROTOCOL"))
        if name in environ
    }
    if "SNOWFLAKE_PORT" in environ:
        endpoint["port"] = int(environ["SNOWFLAKE_PORT"])
    snowflake = SnowflakeResource(
        account=EnvVar("SNOWFLAKE_ACCOUNT"),
        user=EnvVar("SNOWFLAKE_USER"),
        database=EnvVar("SNOWFLAKE_DATABASE"),
        schema=EnvVar("SNOWFLAKE_SCHEMA"),  # the field `schema_` is set through its alias
        paramstyle="qmark",
        additional_snowflake_connection_args=endpoint or None,
        **auth,
        **optional,
    )
    return SnowflakeWarehouseResource(
        snowflake=snowflake,
        materialized_views=_flag(environ, "FIN_SNOWFLAKE_MATERIALIZED_VIEWS"),
    )
