"""Numbered migrations build the same logical schema on both engines, once."""

from typing import Any

import pyarrow as pa
import pytest

from fin_assets.analytics.schemas import TIMESTAMP_UTC
from fin_assets.resources.warehouse import SqlWarehouse
from fin_assets.resources.warehouse_snowflake import SnowflakeWarehouse
from fin_assets.warehouse.migrations import (
    SQL_ROOT,
    MigrationError,
    migrations,
    pending,
)
from fin_assets.warehouse.model import LINEAGE_TYPE, TABLES, VIEWS
from fin_assets_tests.warehouse.conftest import snowflake_resource

ENGINE_TYPES = {
    "duckdb": {
        pa.string(): "VARCHAR",
        pa.date32(): "DATE",
        pa.float64(): "DOUBLE",
        pa.int64(): "BIGINT",
        pa.int32(): "INTEGER",
        pa.int8(): "TINYINT",
        pa.bool_(): "BOOLEAN",
        TIMESTAMP_UTC: "TIMESTAMP WITH TIME ZONE",
        LINEAGE_TYPE: "TIMESTAMP",
    },
    "snowflake": {
        pa.string(): "TEXT",
        pa.date32(): "DATE",
        pa.float64(): "FLOAT",
        pa.int64(): "NUMBER",
        pa.int32(): "NUMBER",
        pa.int8(): "NUMBER",
        pa.bool_(): "BOOLEAN",
        TIMESTAMP_UTC: "TIMESTAMP_TZ",
        LINEAGE_TYPE: "TIMESTAMP_NTZ",
    },
}


def test_every_table_has_the_model_columns_and_types(warehouse: SqlWarehouse) -> None:
    types = ENGINE_TYPES[warehouse.engine]
    for spec in TABLES.values():
        columns = warehouse.query(
            "SELECT lower(column_name) AS name, data_type FROM information_schema.columns "
            "WHERE lower(table_name) = ? ORDER BY ordinal_position",
            [spec.name],
        )
        schema = spec.stored_schema
        assert columns["name"].tolist() == schema.names, spec.name
        assert columns["data_type"].tolist() == [types[f.type] for f in schema], spec.name


def test_every_view_answers(warehouse: SqlWarehouse) -> None:
    for view in VIEWS:
        assert warehouse.query(f"SELECT count(*) AS n FROM {view}")["n"].tolist() == [0]


def test_migrations_are_recorded_once_and_rerunning_changes_nothing(
    warehouse: SqlWarehouse,
) -> None:
    known = migrations(warehouse.engine, warehouse.migration_variables())
    expected = [(m.version, m.name, m.checksum) for m in known]
    warehouse.ensure_schema()
    warehouse.ensure_schema()

    recorded = warehouse.query(
        "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
    )
    assert list(recorded.itertuples(index=False, name=None)) == expected
    assert [v for v, _, _ in expected] == [1, 2, 3, 4]


def test_an_edited_applied_migration_is_refused(warehouse: SqlWarehouse) -> None:
    with warehouse.session() as session:
        session.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 2")

    with pytest.raises(MigrationError, match=r"migrations \[2\] changed after they were applied"):
        warehouse.ensure_schema()


def test_a_database_ahead_of_the_code_is_refused() -> None:
    known = migrations("duckdb", {"materialized_view": "VIEW"})
    applied = {m.version: m.checksum for m in known} | {99: "x"}

    with pytest.raises(MigrationError, match=r"migrations \[99\] that this code does not know"):
        pending(known, applied)
    assert pending(known, {1: known[0].checksum}) == known[1:]


def test_no_migration_replaces_a_table() -> None:
    for path in SQL_ROOT.rglob("*.sql"):
        assert "OR REPLACE" not in path.read_text().upper(), path


def test_materialized_views_are_a_snowflake_setting(fakesnow_server: dict[str, Any]) -> None:
    resource = snowflake_resource(fakesnow_server, "FIN_MATERIALIZED")
    plain = migrations("snowflake", SnowflakeWarehouse(resource).migration_variables())
    materialized = SnowflakeWarehouse(resource, materialized_views=True)
    rendered = migrations("snowflake", materialized.migration_variables())

    summary = "IF NOT EXISTS mart_daily_market_summary AS"
    assert any(f"CREATE MATERIALIZED VIEW {summary}" in s for s in rendered[1].statements)
    assert any(f"CREATE VIEW {summary}" in s for s in plain[1].statements)
    assert rendered[1].checksum == plain[1].checksum
    materialized.ensure_schema()
    assert materialized.query("SELECT count(*) AS n FROM mart_daily_market_summary")["n"][0] == 0


def test_a_migration_token_without_value_is_refused() -> None:
    with pytest.raises(MigrationError, match=r"no value for \{materialized_view\}"):
        migrations("snowflake", {})
