"""The SQL the warehouse assets audit their loads with, the same on every engine (`?`
parameters)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date


def symbol_versions_sql(relation: str) -> str:
    """Every version of every symbol of the type 2 dimension held by `relation` (dim_symbol
    or its staging table)."""
    return f"SELECT symbol_key, symbol, valid_from, valid_to, is_current FROM {relation}"


def current_symbols_sql(relation: str) -> str:
    """The current version of every symbol in `relation` (dim_symbol or its staging table),
    shown on dim_symbol's materialization (one row each)."""
    return (
        "SELECT symbol_key, symbol, name, asset_class, exchange, sector, valid_from "
        f"FROM {relation} WHERE is_current ORDER BY symbol"
    )


def date_keys_sql(relation: str) -> str:
    """The date keys of `relation` (dim_date or its staging table)."""
    return f"SELECT date_key FROM {relation}"


def row_count_sql(table: str) -> str:
    """The rows of `table`, as column `n`."""
    return f"SELECT count(*) AS n FROM {table}"


def range_counts_query(
    relation: str,
    keys: Sequence[str],
    start: date,
    end: date,
    symbols: Sequence[str] | None,
) -> tuple[str, list[object]]:
    """SQL and parameters counting the rows of `relation` in trade dates start..end (and
    `symbols`, None: every symbol) as `stored`, and their distinct `keys` as `distinct_keys`."""
    where = "trade_date BETWEEN ? AND ?"
    params: list[object] = [start, end]
    if symbols is not None:
        where += f" AND symbol IN ({', '.join('?' for _ in symbols)})"
        params += list(symbols)
    sql = (
        f"SELECT (SELECT count(*) FROM {relation} WHERE {where}) AS stored, "
        f"(SELECT count(*) FROM (SELECT DISTINCT {', '.join(keys)} FROM {relation} "
        f"WHERE {where}) k) AS distinct_keys"
    )
    return sql, params + params
