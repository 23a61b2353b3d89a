"""A run's staged loads on both engines (DuckDB, Snowflake emulated by fakesnow): a failed run's
are discarded and the facts and dimensions keep their rows, a succeeding run's are published
(fin_assets.defs.publish)."""

from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from fin_assets.defs.publish import discard_run, publish_run
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.warehouse import STAGED_LOADS, SqlWarehouse
from fin_assets.universe import Symbol, load_universe
from fin_assets.warehouse.model import date_rows, symbol_rows
from fin_assets_tests.warehouse.rows import daily_bars, risk_rows

D1, D2 = date(2024, 1, 2), date(2024, 1, 3)
RUN = "5a7e0c1d-0000-4000-8000-000000000001"
FACTS = ("fact_daily_bar", "fact_risk")


def facts(warehouse: SqlWarehouse) -> dict[str, list[tuple]]:
    """Each fact's (symbol, trade_date, value) rows: the open of bars, the VaR of risk."""
    columns = {"fact_daily_bar": "open", "fact_risk": "var_95_hist"}
    return {
        table: [
            (row.symbol, pd.Timestamp(row.trade_date).date(), row.value)
            for row in warehouse.query(
                f"SELECT symbol, trade_date, {column} AS value FROM {table} "
                "ORDER BY symbol, trade_date"
            ).itertuples()
        ]
        for table, column in columns.items()
    }


def staging_tables(warehouse: SqlWarehouse) -> int:
    """The run's staging tables left in the warehouse, and its staged loads."""
    tables = warehouse.query(
        "SELECT count(*) AS n FROM information_schema.tables "
        "WHERE lower(table_schema) = 'wap' AND lower(table_name) LIKE ?",
        [f"{RUN}__%"],
    )
    loads = warehouse.query(f"SELECT count(*) AS n FROM {STAGED_LOADS} WHERE run_id = ?", [RUN])
    return int(tables["n"].iloc[0]) + int(loads["n"].iloc[0])


@pytest.fixture
def loaded(warehouse: SqlWarehouse) -> SqlWarehouse:
    """The warehouse holding AAPL's D1 bar and risk row, as published before the run."""
    warehouse.replace_range("fact_daily_bar", daily_bars([("AAPL", D1, 1.0)]), start=D1, end=D1)
    warehouse.replace_range("fact_risk", risk_rows([("AAPL", D1, None, 0.01)]), start=D1, end=D1)
    return warehouse


def stage_run(warehouse: SqlWarehouse) -> None:
    """The run's loads: AAPL's bars and risk of D1 (changed) and D2 (new), staged."""
    warehouse.replace_range(
        "fact_daily_bar",
        daily_bars([("AAPL", D1, 2.0), ("AAPL", D2, 3.0)]),
        start=D1,
        end=D2,
        symbols=["AAPL"],
        staged_run=RUN,
    )
    warehouse.replace_range(
        "fact_risk",
        risk_rows([("AAPL", D1, None, 0.02), ("AAPL", D2, 0.01, 0.03)]),
        start=D1,
        end=D2,
        symbols=["AAPL"],
        staged_run=RUN,
    )


def opened_lake(folder: Path) -> ParquetLake:
    lake = ParquetLake(str(folder / "lake"))
    lake.open_staging(RUN)
    return lake


def test_a_failed_runs_staged_loads_are_discarded_and_the_facts_unchanged(
    loaded: SqlWarehouse, tmp_path: Path
) -> None:
    before = facts(loaded)
    lake = opened_lake(tmp_path)
    stage_run(loaded)
    assert facts(loaded) == before  # staged: nobody sees the run's loads

    discard_run(lake, loaded, RUN)

    assert facts(loaded) == before
    assert staging_tables(loaded) == 0
    assert not loaded.is_published(RUN)


def test_a_succeeding_runs_staged_loads_are_published(loaded: SqlWarehouse, tmp_path: Path) -> None:
    lake = opened_lake(tmp_path)
    stage_run(loaded)

    publish_run(lake, loaded, RUN)

    assert facts(loaded) == {
        "fact_daily_bar": [("AAPL", D1, 2.0), ("AAPL", D2, 3.0)],
        "fact_risk": [("AAPL", D1, 0.02), ("AAPL", D2, 0.03)],
    }
    assert staging_tables(loaded) == 0


def dimensions(warehouse: SqlWarehouse) -> dict[str, pd.DataFrame]:
    return {
        "dim_symbol": warehouse.query(
            "SELECT symbol_key, symbol, name, valid_from, valid_to, is_current FROM dim_symbol "
            "ORDER BY symbol_key"
        ),
        "dim_date": warehouse.query("SELECT date_key FROM dim_date ORDER BY date_key"),
    }


def stage_dimensions(warehouse: SqlWarehouse) -> list[Symbol]:
    """The universe loaded, then a run's staged loads of dim_symbol (AAPL renamed as of D2)
    and dim_date (D1..D2); returns the renamed universe."""
    universe = load_universe()
    warehouse.load_symbols(symbol_rows(universe), effective=D1)
    warehouse.replace_all("dim_date", date_rows(D1, D1, universe))
    renamed = [replace(s, name="Renamed Inc.") if s.symbol == "AAPL" else s for s in universe]
    outcome = warehouse.load_symbols(symbol_rows(renamed), effective=D2, staged_run=RUN)
    assert (outcome.opened, outcome.closed) == (1, 1)
    warehouse.replace_all("dim_date", date_rows(D1, D2, universe), staged_run=RUN)
    return renamed


def test_a_failed_runs_staged_dimensions_are_discarded(
    warehouse: SqlWarehouse, tmp_path: Path
) -> None:
    lake = opened_lake(tmp_path)
    universe = load_universe()
    warehouse.load_symbols(symbol_rows(universe), effective=D1)
    warehouse.replace_all("dim_date", date_rows(D1, D1, universe))
    before = dimensions(warehouse)
    stage_dimensions(warehouse)
    for table, rows in dimensions(warehouse).items():  # staged: nobody sees them
        pd.testing.assert_frame_equal(rows, before[table], obj=table)

    discard_run(lake, warehouse, RUN)

    for table, rows in dimensions(warehouse).items():
        pd.testing.assert_frame_equal(rows, before[table], obj=table)
    assert staging_tables(warehouse) == 0


def test_a_succeeding_runs_staged_dimensions_are_published(
    warehouse: SqlWarehouse, tmp_path: Path
) -> None:
    lake = opened_lake(tmp_path)
    renamed = stage_dimensions(warehouse)

    publish_run(lake, warehouse, RUN)

    published = dimensions(warehouse)
    aapl = published["dim_symbol"].query("symbol == 'AAPL'")
    assert aapl["name"].tolist() == [
        next(s.name for s in load_universe() if s.symbol == "AAPL"),
        "Renamed Inc.",
    ]
    assert aapl["is_current"].tolist() == [False, True]
    assert published["dim_symbol"]["is_current"].sum() == len(renamed)
    assert len(published["dim_date"]) == 2
    assert staging_tables(warehouse) == 0
