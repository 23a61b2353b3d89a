"""The same warehouse tests on both engines: a DuckDB file and Snowflake emulated by fakesnow.

fakesnow runs as a server on a local port (real HTTP): the Snowflake connector, through
dagster-snowflake's SnowflakeResource, talks to it exactly as to Snowflake. Each test gets its
own database.
"""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fakesnow
import pytest
from dagster_snowflake import SnowflakeResource

from fin_assets.resources.warehouse import SqlWarehouse
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.resources.warehouse_snowflake import SnowflakeWarehouse

ENDPOINT_KEYS = ("host", "port", "protocol", "session_parameters", "network_timeout")


@pytest.fixture(scope="session")
def fakesnow_server() -> Iterator[dict[str, Any]]:
    """Connection arguments of a fakesnow server running for the whole session."""
    with fakesnow.server() as connection:
        yield connection


def snowflake_resource(server: dict[str, Any], database: str) -> SnowflakeResource:
    return SnowflakeResource(
        account=server["account"],
        user=server["user"],
        password=server["password"],
        database=database,
        schema="MARTS",
        paramstyle="qmark",
        additional_snowflake_connection_args={key: server[key] for key in ENDPOINT_KEYS},
    )


def new_warehouse(engine: str, folder: Path, server: dict[str, Any]) -> SqlWarehouse:
    """A migrated, empty warehouse: a DuckDB file in `folder`, or a fresh fakesnow database."""
    if engine == "duckdb":
        warehouse: SqlWarehouse = DuckDBWarehouse(str(folder / "wh" / "warehouse.duckdb"))
    else:
        database = f"FIN_{uuid.uuid4().hex[:10].upper()}"
        warehouse = SnowflakeWarehouse(snowflake_resource(server, database))
    warehouse.ensure_schema()
    return warehouse


@pytest.fixture(params=["duckdb", "snowflake"])
def warehouse(
    request: pytest.FixtureRequest, tmp_path: Path, fakesnow_server: dict[str, Any]
) -> SqlWarehouse:
    """The warehouse of each engine, schema migrated."""
    return new_warehouse(request.param, tmp_path, fakesnow_server)
