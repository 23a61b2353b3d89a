"""The star schema's CREATE TABLE statements for each engine, generated from the model.

The model's TABLES (fin_assets.warehouse.model: columns with their Arrow types, built on
fin_assets.analytics.schemas, keys and NOT NULL columns) is the one source of the tables'
columns: migration 001 creates them from it (fin_assets.warehouse.migrations), and the Dagster
column schemas come from it too (fin_assets.defs.catalog). Only the types and the keys differ
by engine:

- DuckDB declares the dimensions' primary keys only: an enforcing index on a fact makes bulk
  loads about 10 times and range re-runs about 50 times slower (BENCHMARKS.md). As on
  Snowflake, each load checks its keys and replaces whole ranges; the assets check uniqueness.
- Snowflake records every table's primary key (not enforced: the loads check key uniqueness
  themselves) and clusters the facts by (trade_date, symbol), or trade_date, the filter of every
  load and most BI queries. Its bulk loads PUT Parquet files to the internal stage LOAD_STAGE.

Every table is created with all the columns it has today (lineage columns included); the later
migrations (003, 004) add theirs only where absent (`ADD COLUMN IF NOT EXISTS`), so a
warehouse created by the hand-written migration 001 of before and a new one end with the same
schema (fin_assets_tests/warehouse/test_generated_ddl.py).
"""

from __future__ import annotations

import pyarrow as pa

from fin_assets.analytics.schemas import TIMESTAMP_UTC
from fin_assets.warehouse.model import LINEAGE_TYPE, TABLES, TableSpec

LOAD_STAGE = "fin_load_stage"

# The engine type of each Arrow type of the model.
ENGINE_TYPES: dict[str, dict[pa.DataType, str]] = {
    "duckdb": {
        pa.string(): "VARCHAR",
        pa.date32(): "DATE",
        pa.float64(): "DOUBLE",
        pa.int64(): "BIGINT",
        pa.int32(): "INTEGER",
        pa.int8(): "TINYINT",
        pa.bool_(): "BOOLEAN",
        TIMESTAMP_UTC: "TIMESTAMPTZ",
        LINEAGE_TYPE: "TIMESTAMP",
    },
    "snowflake": {
        pa.string(): "VARCHAR",
        pa.date32(): "DATE",
        pa.float64(): "FLOAT",
        pa.int64(): "BIGINT",
        pa.int32(): "INTEGER",
        pa.int8(): "SMALLINT",
        pa.bool_(): "BOOLEAN",
        TIMESTAMP_UTC: "TIMESTAMP_TZ",
        LINEAGE_TYPE: "TIMESTAMP",
    },
}


def create_table(spec: TableSpec, engine: str) -> str:
    """`CREATE TABLE IF NOT EXISTS` of one table on `engine` (module docstring)."""
    types = ENGINE_TYPES[engine]
    lines = [
        f"    {field.name} {types[field.type]}"
        + (" NOT NULL" if field.name in spec.not_null else "")
        for field in spec.stored_schema
    ]
    if engine == "snowflake" or not spec.is_fact:
        lines.append(f"    PRIMARY KEY ({', '.join(spec.key)})")
    statement = f"CREATE TABLE IF NOT EXISTS {spec.name} (\n" + ",\n".join(lines) + "\n)"
    if engine == "snowflake" and spec.is_fact:
        cluster = ("trade_date", "symbol") if "symbol" in spec.key else ("trade_date",)
        statement += f" CLUSTER BY ({', '.join(cluster)})"
    return statement


def star_schema(engine: str) -> tuple[str, ...]:
    """The statements of migration 001 on `engine`: every table of the model, then (Snowflake)
    the load stage."""
    statements = tuple(create_table(spec, engine) for spec in TABLES.values())
    if engine == "snowflake":
        statements += (f"CREATE STAGE IF NOT EXISTS {LOAD_STAGE} FILE_FORMAT = (TYPE = PARQUET)",)
    return statements
