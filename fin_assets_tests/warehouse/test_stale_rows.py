"""A derived row computed from bars that changed since is shown as stale (migration 004)."""

from datetime import date

import pyarrow as pa

from fin_assets.analytics import schemas
from fin_assets.resources.warehouse import SqlWarehouse
from fin_assets_tests.warehouse.rows import daily_bars, risk_rows

D1, D2, D3 = date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)
DAYS = (D1, D2, D3)


def stale(warehouse: SqlWarehouse) -> list[tuple]:
    frame = warehouse.query(
        "SELECT table_name, symbol, trade_date FROM stale_rows "
        "ORDER BY table_name, symbol, trade_date"
    )
    return [(r.table_name, r.symbol, r.trade_date.date()) for r in frame.itertuples()]


def load_bars(warehouse: SqlWarehouse, aapl_d2: float) -> None:
    rows = [("AAPL", D1, 10.0), ("AAPL", D2, aapl_d2), ("AAPL", D3, 12.0), ("MSFT", D1, 20.0)]
    warehouse.replace_range("fact_daily_bar", daily_bars(rows), start=D1, end=D3)


def load_derived(warehouse: SqlWarehouse, days: tuple[date, ...]) -> None:
    rows = risk_rows([(symbol, day, 0.01, 0.02) for symbol in ("AAPL",) for day in days])
    warehouse.replace_range("fact_risk", rows, start=days[0], end=days[-1], symbols=["AAPL"])
    portfolio = pa.table(
        {"trade_date": list(days), "n_symbols": [2] * len(days)}
        | {c: [0.01] * len(days) for c in schemas.PORTFOLIO_RISK.names[2:]},
        schema=schemas.PORTFOLIO_RISK,
    )
    warehouse.replace_range("fact_portfolio_risk", portfolio, start=days[0], end=days[-1])


def test_a_changed_bar_makes_the_rows_of_its_look_back_stale_until_reloaded(
    warehouse: SqlWarehouse,
) -> None:
    load_bars(warehouse, 11.0)
    load_derived(warehouse, DAYS)
    assert stale(warehouse) == []

    load_bars(warehouse, 11.0)  # identical bars: nothing changed, nothing stale
    assert stale(warehouse) == []

    load_bars(warehouse, 99.0)  # AAPL's bar of D2 corrected
    assert stale(warehouse) == [
        ("fact_portfolio_risk", None, D2),
        ("fact_portfolio_risk", None, D3),
        ("fact_risk", "AAPL", D2),
        ("fact_risk", "AAPL", D3),
    ]

    load_derived(warehouse, (D2,))  # only the corrected day recomputed: D3 stays stale
    assert stale(warehouse) == [("fact_portfolio_risk", None, D3), ("fact_risk", "AAPL", D3)]

    load_derived(warehouse, (D3,))
    assert stale(warehouse) == []


def test_a_bar_changed_before_the_lineage_existed_marks_rows_without_a_watermark(
    warehouse: SqlWarehouse,
) -> None:
    """Rows loaded before migration 004 have no watermark: stale once a bar under them changes."""
    load_bars(warehouse, 11.0)
    load_derived(warehouse, DAYS)
    with warehouse.session() as session:
        session.execute("UPDATE fact_daily_bar SET changed_at = NULL")
        session.execute("UPDATE fact_risk SET bars_changed_at = NULL")
    assert stale(warehouse) == []

    load_bars(warehouse, 99.0)

    assert [row for row in stale(warehouse) if row[0] == "fact_risk"] == [
        ("fact_risk", "AAPL", D2),
        ("fact_risk", "AAPL", D3),
    ]
