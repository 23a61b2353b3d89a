"""Lake-shaped rows for the warehouse tests."""

from datetime import date

import pyarrow as pa

from fin_assets.analytics import schemas
from fin_assets.universe import load_universe
from fin_assets.warehouse.model import with_session_completeness


def daily_bars(rows: list[tuple[str, date, float]]) -> pa.Table:
    """DAILY_BARS rows (vwap is dropped by the fact table) with their session completeness
    columns, as the fact_daily_bar asset loads them; open = value."""
    table = pa.table(
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
    return with_session_completeness(table, {s.symbol: s.calendar for s in load_universe()})


def risk_rows(rows: list[tuple[str, date, float | None, float | None]]) -> pa.Table:
    """RISK rows (symbol, trade_date, return_1d, var_95_hist); var_99 = 1.5 × var_95, the
    other metrics NaN."""
    nan = float("nan")
    columns: dict[str, list] = {
        "symbol": [r[0] for r in rows],
        "trade_date": [r[1] for r in rows],
        "close": [100.0] * len(rows),
    }
    for name in schemas.RISK_METRIC_COLUMNS:
        columns[name] = [nan] * len(rows)
    columns["return_1d"] = [nan if r[2] is None else r[2] for r in rows]
    columns["var_95_hist"] = [nan if r[3] is None else r[3] for r in rows]
    columns["var_99_hist"] = [nan if r[3] is None else 1.5 * r[3] for r in rows]
    return pa.table(columns, schema=schemas.RISK)
