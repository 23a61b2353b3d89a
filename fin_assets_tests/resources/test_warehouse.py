from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from fin_assets.analytics import schemas
from fin_assets.resources.warehouse import DIM_SYMBOL, TABLES, DuckDBWarehouse

D1, D2, D3 = date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)
BAR_COLUMNS = ["symbol", "trade_date", "open", "high", "low", "close", "volume"]


def daily_bars(rows: list[tuple[str, date, float]]) -> pa.Table:
    """Lake-shaped DAILY_BARS rows (with vwap and bar_count, which the fact table drops)."""
    return pa.table(
        {
            "symbol": [r[0] for r in rows],
            "trade_date": [r[1] for r in rows],
            "open": [r[2] for r in rows],
            "high": [r[2] + 1 for r in rows],
            "low": [r[2] - 1 for r in rows],
            "close": [r[2] + 0.5 for r in rows],
            "volume": [100.0] * len(rows),
            "vwap": [r[2] for r in rows],
            "bar_count": [10] * len(rows),
        },
        schema=schemas.DAILY_BARS,
    )


def contents(warehouse: DuckDBWarehouse) -> list[tuple]:
    frame = warehouse.query(
        "SELECT symbol, trade_date, open FROM fact_daily_bar ORDER BY symbol, trade_date"
    )
    return [(r.symbol, r.trade_date.date(), r.open) for r in frame.itertuples()]


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(str(tmp_path / "wh" / "warehouse.duckdb"))
    warehouse.ensure_schema()
    return warehouse


def test_ensure_schema_twice_creates_declared_columns(warehouse: DuckDBWarehouse) -> None:
    warehouse.ensure_schema()

    columns = warehouse.query(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ? ORDER BY ordinal_position",
        ["fact_daily_bar"],
    )
    assert columns["column_name"].tolist() == BAR_COLUMNS
    assert columns["data_type"].tolist() == ["VARCHAR", "DATE"] + ["DOUBLE"] * 5
    signal_types = warehouse.query(
        "SELECT data_type FROM information_schema.columns "
        "WHERE table_name = 'fact_signal' AND column_name = 'direction'"
    )
    assert signal_types["data_type"].tolist() == ["TINYINT"]
    risk = warehouse.query(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'fact_risk' ORDER BY ordinal_position"
    )
    assert risk["column_name"].tolist() == ["symbol", "trade_date", *schemas.RISK_METRIC_COLUMNS]


def test_replace_range_twice_keeps_one_row_per_key(warehouse: DuckDBWarehouse) -> None:
    rows = daily_bars([("AAPL", D1, 10.0), ("AAPL", D2, 11.0), ("MSFT", D1, 20.0)])

    assert warehouse.replace_range("fact_daily_bar", rows, start=D1, end=D2) == 3
    assert warehouse.replace_range("fact_daily_bar", rows, start=D1, end=D2) == 3

    assert contents(warehouse) == [("AAPL", D1, 10.0), ("AAPL", D2, 11.0), ("MSFT", D1, 20.0)]


def test_overlapping_ranges_keep_later_content(warehouse: DuckDBWarehouse) -> None:
    first = daily_bars([("AAPL", D1, 1.0), ("AAPL", D2, 2.0)])
    second = daily_bars([("AAPL", D2, 20.0), ("AAPL", D3, 30.0)])

    warehouse.replace_range("fact_daily_bar", first, start=D1, end=D2)
    warehouse.replace_range("fact_daily_bar", second, start=D2, end=D3)

    assert contents(warehouse) == [("AAPL", D1, 1.0), ("AAPL", D2, 20.0), ("AAPL", D3, 30.0)]


def test_symbols_restrict_what_is_deleted(warehouse: DuckDBWarehouse) -> None:
    warehouse.replace_range(
        "fact_daily_bar", daily_bars([("AAPL", D1, 1.0), ("MSFT", D1, 2.0)]), start=D1, end=D1
    )

    warehouse.replace_range(
        "fact_daily_bar", daily_bars([("MSFT", D1, 5.0)]), start=D1, end=D1, symbols=["MSFT"]
    )
    warehouse.replace_range("fact_daily_bar", daily_bars([]), start=D1, end=D1, symbols=["NVDA"])

    assert contents(warehouse) == [("AAPL", D1, 1.0), ("MSFT", D1, 5.0)]


def test_failure_after_delete_rolls_back(warehouse: DuckDBWarehouse) -> None:
    warehouse.replace_range("fact_daily_bar", daily_bars([("AAPL", D1, 1.0)]), start=D1, end=D1)
    duplicated = daily_bars([("AAPL", D1, 7.0), ("AAPL", D1, 8.0)])

    with pytest.raises(ValueError, match=r"nothing changed.*duplicate key"):
        warehouse.replace_range("fact_daily_bar", duplicated, start=D1, end=D1)

    assert contents(warehouse) == [("AAPL", D1, 1.0)]


def test_wrong_column_type_is_rejected_and_content_kept(warehouse: DuckDBWarehouse) -> None:
    warehouse.replace_range("fact_daily_bar", daily_bars([("AAPL", D1, 1.0)]), start=D1, end=D1)
    bad = daily_bars([("AAPL", D1, 3.0)]).set_column(2, "open", pa.array(["not a number"]))

    with pytest.raises(ValueError, match="fact_daily_bar: rows do not cast"):
        warehouse.replace_range("fact_daily_bar", bad, start=D1, end=D1)
    with pytest.raises(ValueError, match=r"lack columns \['volume'\]"):
        warehouse.replace_range(
            "fact_daily_bar", daily_bars([]).drop_columns(["volume"]), start=D1, end=D1
        )

    assert contents(warehouse) == [("AAPL", D1, 1.0)]


def test_rows_outside_range_or_symbols_are_rejected(warehouse: DuckDBWarehouse) -> None:
    warehouse.replace_range("fact_daily_bar", daily_bars([("AAPL", D1, 1.0)]), start=D1, end=D1)

    with pytest.raises(ValueError, match=r"span 2024-01-02..2024-01-03, outside \[2024-01-03"):
        warehouse.replace_range(
            "fact_daily_bar",
            daily_bars([("AAPL", D1, 5.0), ("AAPL", D2, 6.0)]),
            start=D2,
            end=D3,
        )
    with pytest.raises(ValueError, match=r"symbols \['MSFT'\] not in \['AAPL'\]"):
        warehouse.replace_range(
            "fact_daily_bar", daily_bars([("MSFT", D1, 5.0)]), start=D1, end=D1, symbols=["AAPL"]
        )
    with pytest.raises(ValueError, match="is after end"):
        warehouse.replace_range("fact_daily_bar", daily_bars([]), start=D2, end=D1)
    with pytest.raises(ValueError, match="dimension"):
        warehouse.replace_range("dim_symbol", DIM_SYMBOL.empty_table(), start=D1, end=D1)
    with pytest.raises(ValueError, match="unknown warehouse table"):
        warehouse.replace_range("fact_nope", daily_bars([]), start=D1, end=D1)

    assert contents(warehouse) == [("AAPL", D1, 1.0)]


def test_replace_all_replaces_dimension(warehouse: DuckDBWarehouse) -> None:
    def symbols(names: list[str]) -> pa.Table:
        return pa.table({field: [f"{n}-{field}" for n in names] for field in DIM_SYMBOL.names})

    assert warehouse.replace_all("dim_symbol", symbols(["AAPL", "MSFT"])) == 2
    assert warehouse.replace_all("dim_symbol", symbols(["BTC"])) == 1

    frame = warehouse.query("SELECT symbol, sector FROM dim_symbol")
    assert frame.to_dict("records") == [{"symbol": "BTC-symbol", "sector": "BTC-sector"}]


def test_row_counts(warehouse: DuckDBWarehouse) -> None:
    warehouse.replace_range(
        "fact_daily_bar", daily_bars([("AAPL", D1, 1.0), ("MSFT", D1, 2.0)]), start=D1, end=D1
    )
    correlation = pa.table(
        {"trade_date": [D1], "symbol_a": ["AAPL"], "symbol_b": ["MSFT"], "correlation": [0.5]}
    )
    warehouse.replace_range("fact_correlation", correlation, start=D1, end=D1)

    expected = dict.fromkeys(TABLES, 0) | {"fact_daily_bar": 2, "fact_correlation": 1}
    assert warehouse.row_counts() == expected


def test_connections_are_closed_between_operations(warehouse: DuckDBWarehouse) -> None:
    warehouse.replace_range("fact_daily_bar", daily_bars([("AAPL", D1, 1.0)]), start=D1, end=D1)

    with duckdb.connect(warehouse.path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM fact_daily_bar").fetchone() == (1,)
