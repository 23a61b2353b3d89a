"""Idempotent range loads, the same on DuckDB and on Snowflake (fakesnow)."""

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from fin_assets.analytics import schemas
from fin_assets.resources.warehouse import LoadRejected, SqlWarehouse
from fin_assets.warehouse.model import TABLES
from fin_assets_tests.warehouse.rows import daily_bars

D1, D2, D3 = date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)


def contents(warehouse: SqlWarehouse) -> list[tuple]:
    frame = warehouse.query(
        "SELECT symbol, trade_date, open FROM fact_daily_bar ORDER BY symbol, trade_date"
    )
    return [(r.symbol, r.trade_date.date(), r.open) for r in frame.itertuples()]


def test_replace_range_twice_keeps_one_row_per_key(warehouse: SqlWarehouse) -> None:
    rows = daily_bars([("AAPL", D1, 10.0), ("AAPL", D2, 11.0), ("MSFT", D1, 20.0)])

    assert warehouse.replace_range("fact_daily_bar", rows, start=D1, end=D2) == 3
    assert warehouse.replace_range("fact_daily_bar", rows, start=D1, end=D2) == 3

    assert contents(warehouse) == [("AAPL", D1, 10.0), ("AAPL", D2, 11.0), ("MSFT", D1, 20.0)]


def test_overlapping_ranges_keep_later_content(warehouse: SqlWarehouse) -> None:
    first = daily_bars([("AAPL", D1, 1.0), ("AAPL", D2, 2.0)])
    second = daily_bars([("AAPL", D2, 20.0), ("AAPL", D3, 30.0)])

    warehouse.replace_range("fact_daily_bar", first, start=D1, end=D2)
    warehouse.replace_range("fact_daily_bar", second, start=D2, end=D3)

    assert contents(warehouse) == [("AAPL", D1, 1.0), ("AAPL", D2, 20.0), ("AAPL", D3, 30.0)]


def test_symbols_restrict_what_is_deleted(warehouse: SqlWarehouse) -> None:
    warehouse.replace_range(
        "fact_daily_bar", daily_bars([("AAPL", D1, 1.0), ("MSFT", D1, 2.0)]), start=D1, end=D1
    )

    warehouse.replace_range(
        "fact_daily_bar", daily_bars([("MSFT", D1, 5.0)]), start=D1, end=D1, symbols=["MSFT"]
    )
    warehouse.replace_range("fact_daily_bar", daily_bars([]), start=D1, end=D1, symbols=["NVDA"])

    assert contents(warehouse) == [("AAPL", D1, 1.0), ("MSFT", D1, 5.0)]


def test_duplicate_keys_are_rejected_and_content_kept(warehouse: SqlWarehouse) -> None:
    warehouse.replace_range("fact_daily_bar", daily_bars([("AAPL", D1, 1.0)]), start=D1, end=D1)
    duplicated = daily_bars([("AAPL", D1, 7.0), ("AAPL", D1, 8.0), ("MSFT", D1, 9.0)])

    with pytest.raises(LoadRejected, match=r"nothing changed: duplicate key \(symbol, trade_d"):
        warehouse.replace_range("fact_daily_bar", duplicated, start=D1, end=D1)

    assert contents(warehouse) == [("AAPL", D1, 1.0)]


def test_failure_after_the_delete_rolls_back(warehouse: SqlWarehouse) -> None:
    """A null trade_date passes the range check and fails the NOT NULL constraint of the
    INSERT, after the DELETE of the same transaction: the previous rows come back."""
    warehouse.replace_range(
        "fact_daily_bar", daily_bars([("AAPL", D1, 1.0), ("AAPL", D2, 2.0)]), start=D1, end=D2
    )
    rows = daily_bars([("AAPL", D1, 5.0), ("AAPL", D2, 6.0)])
    rows = rows.set_column(1, "trade_date", pa.array([D1, None], pa.date32()))

    with pytest.raises(Exception) as raised:
        warehouse.replace_range("fact_daily_bar", rows, start=D1, end=D2)

    if warehouse.engine == "duckdb":
        assert "NOT NULL constraint failed" in str(raised.value)
    # fakesnow's server answers an engine constraint error with HTTP 500 (Snowflake: error
    # 100072, "NULL result in a non-nullable column"); either way the load fails.

    assert contents(warehouse) == [("AAPL", D1, 1.0), ("AAPL", D2, 2.0)]


def test_wrong_column_type_is_rejected_and_content_kept(warehouse: SqlWarehouse) -> None:
    warehouse.replace_range("fact_daily_bar", daily_bars([("AAPL", D1, 1.0)]), start=D1, end=D1)
    bad = daily_bars([("AAPL", D1, 3.0)]).set_column(2, "open", pa.array(["not a number"]))

    with pytest.raises(LoadRejected, match="fact_daily_bar: rows do not cast"):
        warehouse.replace_range("fact_daily_bar", bad, start=D1, end=D1)
    with pytest.raises(LoadRejected, match=r"lack columns \['volume'\]"):
        warehouse.replace_range(
            "fact_daily_bar", daily_bars([]).drop_columns(["volume"]), start=D1, end=D1
        )

    assert contents(warehouse) == [("AAPL", D1, 1.0)]


def test_rows_outside_range_or_symbols_are_rejected(warehouse: SqlWarehouse) -> None:
    warehouse.replace_range("fact_daily_bar", daily_bars([("AAPL", D1, 1.0)]), start=D1, end=D1)

    with pytest.raises(LoadRejected, match=r"span 2024-01-02..2024-01-03, outside \[2024-01-03"):
        warehouse.replace_range(
            "fact_daily_bar",
            daily_bars([("AAPL", D1, 5.0), ("AAPL", D2, 6.0)]),
            start=D2,
            end=D3,
        )
    with pytest.raises(LoadRejected, match=r"symbols \['MSFT'\] not in \['AAPL'\]"):
        warehouse.replace_range(
            "fact_daily_bar", daily_bars([("MSFT", D1, 5.0)]), start=D1, end=D1, symbols=["AAPL"]
        )
    with pytest.raises(ValueError, match="is after end"):
        warehouse.replace_range("fact_daily_bar", daily_bars([]), start=D2, end=D1)
    with pytest.raises(ValueError, match="dimension"):
        warehouse.replace_range(
            "dim_date", TABLES["dim_date"].schema.empty_table(), start=D1, end=D1
        )
    with pytest.raises(ValueError, match="unknown warehouse table"):
        warehouse.replace_range("fact_nope", daily_bars([]), start=D1, end=D1)
    with pytest.raises(ValueError, match=r"dim_symbol is not replaced whole"):
        warehouse.replace_all("dim_symbol", TABLES["dim_symbol"].schema.empty_table())

    assert contents(warehouse) == [("AAPL", D1, 1.0)]


def test_nan_is_stored_as_null_and_timestamps_keep_their_instant(warehouse: SqlWarehouse) -> None:
    minute = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    rows = pa.table(
        {
            "symbol": ["AAPL", "AAPL"],
            "trade_date": [D1, D1],
            "ts": pa.array([minute, minute.replace(minute=31)], schemas.TIMESTAMP_UTC),
            "open": [1.0, float("nan")],
            "high": [2.0, 2.0],
            "low": [0.5, 0.5],
            "close": [1.5, 1.5],
            "volume": [10.0, 0.0],
        },
        schema=schemas.INTRADAY_BARS,
    )

    warehouse.replace_range("fact_intraday_bar", rows, start=D1, end=D1, symbols=["AAPL"])

    stored = warehouse.query(
        "SELECT ts, open, open IS NULL AS open_is_null FROM fact_intraday_bar ORDER BY ts"
    )
    assert [t.to_pydatetime() for t in stored["ts"]] == [minute, minute.replace(minute=31)]
    assert stored["open_is_null"].tolist() == [False, True]


def test_row_counts(warehouse: SqlWarehouse) -> None:
    warehouse.replace_range(
        "fact_daily_bar", daily_bars([("AAPL", D1, 1.0), ("MSFT", D1, 2.0)]), start=D1, end=D1
    )
    correlation = pa.table(
        {"trade_date": [D1], "symbol_a": ["AAPL"], "symbol_b": ["MSFT"], "correlation": [0.5]}
    )
    warehouse.replace_range("fact_correlation", correlation, start=D1, end=D1)

    expected = dict.fromkeys(TABLES, 0) | {"fact_daily_bar": 2, "fact_correlation": 1}
    assert warehouse.row_counts() == expected
