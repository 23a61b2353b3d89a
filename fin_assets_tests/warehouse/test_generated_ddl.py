"""Migration 001 generated from the model builds the schema the hand-written files built.

Two warehouses per engine: one migrated by this code (001 generated), one created by the
hand-written 001 of before (hand_written_001/, applied and recorded with its file's checksum as
that code did), then migrated by this code (002-004). Their tables must have the same columns,
in the same order, with the same types and nullability, and (DuckDB) the same primary keys.
"""

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fin_assets.resources.warehouse import SqlWarehouse
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.resources.warehouse_snowflake import SnowflakeWarehouse
from fin_assets.warehouse.migrations import MIGRATIONS_TABLE_SQL, statements
from fin_assets.warehouse.model import TABLES
from fin_assets_tests.warehouse.conftest import snowflake_resource

HAND_WRITTEN = Path(__file__).with_name("hand_written_001")


def empty_warehouse(engine: str, folder: Path, server: dict[str, Any]) -> SqlWarehouse:
    if engine == "duckdb":
        return DuckDBWarehouse(str(folder / f"{uuid.uuid4().hex}.duckdb"))
    return SnowflakeWarehouse(snowflake_resource(server, f"FIN_{uuid.uuid4().hex[:10].upper()}"))


def created_by_hand_written_001(engine: str, folder: Path, server: dict[str, Any]) -> SqlWarehouse:
    """A warehouse as the code of before left it after migration 001, then migrated now."""
    path = HAND_WRITTEN / f"{engine}.sql"
    text = path.read_text()
    warehouse = empty_warehouse(engine, folder, server)
    with warehouse.session() as session:
        session.execute(MIGRATIONS_TABLE_SQL)
        for statement in statements(text, {}, path):
            session.execute(statement)
        session.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
            "VALUES (1, 'star_schema', ?, CURRENT_TIMESTAMP)",
            [hashlib.sha256(text.encode()).hexdigest()],
        )
    warehouse.ensure_schema()
    return warehouse


def table_columns(warehouse: SqlWarehouse) -> pd.DataFrame:
    columns = warehouse.query(
        "SELECT lower(table_name) AS table_name, lower(column_name) AS column_name, "
        "ordinal_position, data_type, is_nullable FROM information_schema.columns "
        "WHERE lower(table_schema) = lower(current_schema())"
    )
    columns = columns[columns["table_name"].isin(list(TABLES))]
    return columns.sort_values(["table_name", "ordinal_position"]).reset_index(drop=True)


@pytest.mark.parametrize("engine", ["duckdb", "snowflake"])
def test_the_generated_schema_equals_the_hand_written_one(
    engine: str, tmp_path: Path, fakesnow_server: dict[str, Any]
) -> None:
    generated = empty_warehouse(engine, tmp_path, fakesnow_server)
    generated.ensure_schema()
    hand_written = created_by_hand_written_001(engine, tmp_path, fakesnow_server)

    expected = table_columns(hand_written)
    assert set(expected["table_name"]) == set(TABLES)
    pd.testing.assert_frame_equal(table_columns(generated), expected)
    applied = "SELECT version, checksum FROM schema_migrations ORDER BY version"
    pd.testing.assert_frame_equal(generated.query(applied), hand_written.query(applied))


def test_duckdb_declares_the_same_primary_keys(tmp_path: Path) -> None:
    generated = DuckDBWarehouse(str(tmp_path / "generated.duckdb"))
    generated.ensure_schema()
    hand_written = created_by_hand_written_001("duckdb", tmp_path, {})
    keys = (
        "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
        "WHERE constraint_type IN ('PRIMARY KEY', 'NOT NULL') ORDER BY ALL"
    )

    expected = hand_written.query(keys)
    assert {"dim_symbol", "dim_date"} <= set(expected["table_name"])
    pd.testing.assert_frame_equal(generated.query(keys), expected)
