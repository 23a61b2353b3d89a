"""DuckDB specifics of the warehouse; the engine-independent behaviour is tested on both
engines in fin_assets_tests/warehouse/."""

from datetime import date
from pathlib import Path

import duckdb
import pytest

from fin_assets.resources.storage import DuckDBWarehouseResource
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets_tests.warehouse.rows import daily_bars

D1 = date(2024, 1, 2)


def test_the_resource_creates_the_file_and_migrates_it(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "warehouse.duckdb"

    warehouse = DuckDBWarehouseResource(path=str(path)).get_warehouse()

    assert path.is_file()
    assert warehouse.query("SELECT max(version) AS v FROM schema_migrations")["v"][0] == 4


def test_connections_are_closed_between_operations(tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(str(tmp_path / "warehouse.duckdb"))
    warehouse.ensure_schema()
    warehouse.replace_range("fact_daily_bar", daily_bars([("AAPL", D1, 1.0)]), start=D1, end=D1)

    with duckdb.connect(warehouse.path) as con:
        assert con.execute("SELECT count(*) FROM fact_daily_bar").fetchone() == (1,)


def test_sessions_inside_connected_share_one_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside `connected()` the file is opened once, its writes and reads (read-only sessions
    included) go through that connection, and it is closed when the block ends."""
    warehouse = DuckDBWarehouse(str(tmp_path / "warehouse.duckdb"))
    warehouse.ensure_schema()
    opened: list[bool] = []
    connect = duckdb.connect

    def counting_connect(path: str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        opened.append(read_only)
        return connect(path, read_only=read_only)

    monkeypatch.setattr(duckdb, "connect", counting_connect)
    with warehouse.connected(), warehouse.connected():
        warehouse.replace_range("fact_daily_bar", daily_bars([("AAPL", D1, 1.0)]), start=D1, end=D1)
        assert warehouse.query("SELECT count(*) AS n FROM fact_daily_bar")["n"][0] == 1
    assert opened == [False]

    assert warehouse.query("SELECT count(*) AS n FROM fact_daily_bar")["n"][0] == 1
    assert opened == [False, True]


def test_a_failed_migration_leaves_no_trace(tmp_path: Path) -> None:
    """DDL is transactional on DuckDB: a migration and its record commit together. A foreign
    fact_signal table (kept by 001's IF NOT EXISTS) makes 002's views fail half-way."""
    path = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(path) as con:
        con.execute("CREATE TABLE fact_signal (x INTEGER)")

    with pytest.raises(duckdb.BinderException, match="does not have a column"):
        DuckDBWarehouse(path).ensure_schema()

    with duckdb.connect(path, read_only=True) as con:
        names = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        recorded = con.execute("SELECT version FROM schema_migrations").fetchall()
    assert recorded == [(1,)]
    assert ("fact_daily_bar",) in names
    assert ("dim_symbol_current",) not in names
