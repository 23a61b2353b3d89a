"""Stale rows: rows of the facts derived from daily bars computed from bars that changed since.

The warehouse records each bar's last change and each derived row's look-back watermark
(`fin_assets.warehouse.model`, bar lineage); the view `stale_rows` lists the derived rows whose
watermark is older than their look-back's current one. These queries summarize it, the same
SQL on every engine. `REFRESH_COMMAND` recomputes them (the symbols' look-back dependents over
their stale dates, and the portfolio over its stale dates).
"""

from __future__ import annotations

REFRESH_COMMAND = "fin-assets refresh-stale"

# Stale rows per table and symbol (null: the portfolio facts), with their first and last date.
STALE_RANGES_SQL = (
    "SELECT table_name, symbol, min(trade_date) AS first_date, max(trade_date) AS last_date, "
    "count(*) AS stale_count FROM stale_rows GROUP BY table_name, symbol "
    "ORDER BY table_name, symbol"
)

# Stale rows of one table (parameter) per symbol and date.
STALE_PARTITIONS_SQL = (
    "SELECT symbol, trade_date, count(*) AS stale_count FROM stale_rows "
    "WHERE table_name = ? GROUP BY symbol, trade_date ORDER BY symbol, trade_date"
)
