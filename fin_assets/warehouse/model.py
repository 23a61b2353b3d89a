"""The logical warehouse model shared by every engine: tables, keys, dimension rows.

Conventions:
- Column names are lower case and unquoted in every SQL text, so one query runs on DuckDB and
  on Snowflake (which stores them upper case); adapters return lower-case column names.
- Facts carry the natural key (symbol, trade_date[, ts]); they join `dim_symbol` point in time:
  `f.symbol = d.symbol AND f.trade_date >= d.valid_from AND f.trade_date < d.valid_to`.
- `dim_symbol` is a type 2 slowly changing dimension. A version is valid on the dates
  [valid_from, valid_to): valid_to is exclusive, OPEN_VALID_TO (9999-12-31) on the current
  version, and a symbol's first version starts at FIRST_VALID_FROM (1900-01-01) so that every
  historical fact finds it. `attributes_hash` is the SHA-256 of the JSON list of the tracked
  attributes (JSON keeps null apart from "" and needs no separator), computed here so that both
  engines compare the same hashes.
- `symbol_key` is the surrogate key: assigned once per version (max + 1 in load order) and
  never changed by a reload.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from fin_assets.analytics import schemas
from fin_assets.analytics.market_calendar import session_minute_count, sessions_in_range
from fin_assets.universe.universe import Symbol

FIRST_VALID_FROM = date(1900, 1, 1)
OPEN_VALID_TO = date(9999, 12, 31)

# The attributes of the universe file whose change opens a new dim_symbol version.
SYMBOL_ATTRIBUTES = (
    "name",
    "asset_class",
    "exchange",
    "calendar",
    "currency",
    "timezone",
    "sector",
    "alphavantage_id",
    "coingecko_id",
    "yahoo_id",
)

# Exchanges with a trading-day flag column `is_trading_day_<code>` in dim_date. A universe
# exchange outside this list needs a migration adding its column.
EXCHANGES = ("xnas", "xnys", "arcx", "crypto")


@dataclass(frozen=True)
class TableSpec:
    """One warehouse table: its columns (Arrow types, in order) and its natural key."""

    name: str
    schema: pa.Schema
    key: tuple[str, ...]

    @property
    def is_fact(self) -> bool:
        """Facts are keyed by trade date and loaded by date range."""
        return "trade_date" in self.key


def _select(schema: pa.Schema, names: Sequence[str]) -> pa.Schema:
    return pa.schema([schema.field(name) for name in names])


def _without(schema: pa.Schema, name: str) -> pa.Schema:
    return schema.remove(schema.get_field_index(name))


# What a dim_symbol load provides: the natural key, the tracked attributes and their hash.
SYMBOL_SOURCE = pa.schema(
    [("symbol", pa.string())]
    + [(name, pa.string()) for name in SYMBOL_ATTRIBUTES]
    + [("attributes_hash", pa.string())]
)

DIM_SYMBOL = pa.schema(
    [
        ("symbol_key", pa.int64()),
        *SYMBOL_SOURCE,
        ("valid_from", pa.date32()),
        ("valid_to", pa.date32()),
        ("is_current", pa.bool_()),
    ]
)

DIM_DATE = pa.schema(
    [
        ("date_key", pa.int32()),  # yyyymmdd
        ("date", pa.date32()),
        ("year", pa.int32()),
        ("quarter", pa.int32()),
        ("month", pa.int32()),
        ("month_name", pa.string()),
        ("day", pa.int32()),
        ("day_of_week", pa.int32()),  # ISO: 1 = Monday ... 7 = Sunday
        ("day_name", pa.string()),
        ("iso_week", pa.int32()),
        ("is_weekend", pa.bool_()),
        ("is_month_end", pa.bool_()),
    ]
    + [(f"is_trading_day_{code}", pa.bool_()) for code in EXCHANGES]
)

# fact_daily_bar's completeness columns: the minutes the session has, how many of them the
# day's bars hold (bar_count) and how many are missing (session_minutes - bar_count; > 0 marks
# an incomplete session). Filled by `with_session_completeness`.
SESSION_COMPLETENESS = pa.schema(
    [
        ("bar_count", pa.int64()),
        ("session_minutes", pa.int64()),
        ("missing_minutes", pa.int64()),
    ]
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("dim_symbol", DIM_SYMBOL, ("symbol_key",)),
        TableSpec("dim_date", DIM_DATE, ("date_key",)),
        TableSpec(
            "fact_daily_bar",
            pa.schema(
                [
                    *_select(
                        schemas.DAILY_BARS,
                        ("symbol", "trade_date", "open", "high", "low", "close", "volume"),
                    ),
                    *SESSION_COMPLETENESS,
                ]
            ),
            ("symbol", "trade_date"),
        ),
        TableSpec("fact_intraday_bar", schemas.INTRADAY_BARS, ("symbol", "trade_date", "ts")),
        TableSpec(
            "fact_indicator", _without(schemas.INDICATORS, "close"), ("symbol", "trade_date")
        ),
        TableSpec("fact_signal", schemas.SIGNALS, ("symbol", "trade_date", "signal")),
        TableSpec("fact_risk", _without(schemas.RISK, "close"), ("symbol", "trade_date")),
        TableSpec("fact_portfolio_risk", schemas.PORTFOLIO_RISK, ("trade_date",)),
        TableSpec("fact_correlation", schemas.CORRELATION, ("trade_date", "symbol_a", "symbol_b")),
    )
}

# BI views created by the migrations (see docs/warehouse.md).
VIEWS = (
    "dim_symbol_current",
    "mart_daily_market_summary",
    "mart_daily_sector_summary",
    "mart_top_movers",
    "mart_var_exceptions",
    "mart_risk_dashboard",
    "mart_signal_feed",
)


def with_session_completeness(daily: pa.Table, calendars: Mapping[str, str]) -> pa.Table:
    """DAILY_BARS rows with `session_minutes` (one-minute bars of the session in the symbol's
    calendar, `calendars[symbol]`) and `missing_minutes` = session_minutes - bar_count added."""
    expected = [
        session_minute_count(calendars[symbol], trade_date)
        for symbol, trade_date in zip(
            daily["symbol"].to_pylist(), daily["trade_date"].to_pylist(), strict=True
        )
    ]
    session = pa.array(expected, pa.int64())
    missing = pc.subtract(session, daily["bar_count"].cast(pa.int64()))
    return daily.append_column("session_minutes", session).append_column("missing_minutes", missing)


def attributes_hash(values: Sequence[str | None]) -> str:
    """SHA-256 (hex) of the JSON list of `values`: null-safe and separator-free."""
    return hashlib.sha256(json.dumps(list(values)).encode()).hexdigest()


def symbol_rows(universe: Sequence[Symbol]) -> pa.Table:
    """The dim_symbol source rows of a universe (SYMBOL_SOURCE), hash included."""
    records = []
    for s in universe:
        attributes = {
            "name": s.name,
            "asset_class": s.asset_class,
            "exchange": s.exchange,
            "calendar": s.calendar,
            "currency": s.currency,
            "timezone": s.timezone,
            "sector": s.sector,
            "alphavantage_id": s.vendor_ids["alphavantage"],
            "coingecko_id": s.vendor_ids["coingecko"],
            "yahoo_id": s.vendor_ids["yahoo"],
        }
        digest = attributes_hash([attributes[name] for name in SYMBOL_ATTRIBUTES])
        records.append({"symbol": s.symbol, **attributes, "attributes_hash": digest})
    return pa.Table.from_pylist(records, schema=SYMBOL_SOURCE)


def date_rows(start: date, end: date, universe: Sequence[Symbol]) -> pa.Table:
    """dim_date rows from start to end (inclusive), with each exchange's trading-day flag.

    An exchange's trading days are the sessions of its symbols' calendar (ValueError if the
    universe gives one exchange two calendars, or an exchange has no column in EXCHANGES).
    """
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    calendars: dict[str, str] = {}
    for s in universe:
        code = s.exchange.lower()
        if code not in EXCHANGES:
            raise ValueError(f"exchange {s.exchange} of {s.symbol} has no dim_date column")
        if calendars.setdefault(code, s.calendar) != s.calendar:
            raise ValueError(f"exchange {s.exchange} has two calendars in the universe")
    dates = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    columns: dict[str, list] = {
        "date_key": [d.year * 10000 + d.month * 100 + d.day for d in dates],
        "date": dates,
        "year": [d.year for d in dates],
        "quarter": [(d.month - 1) // 3 + 1 for d in dates],
        "month": [d.month for d in dates],
        "month_name": [d.strftime("%B") for d in dates],
        "day": [d.day for d in dates],
        "day_of_week": [d.isoweekday() for d in dates],
        "day_name": [d.strftime("%A") for d in dates],
        "iso_week": [d.isocalendar().week for d in dates],
        "is_weekend": [d.isoweekday() >= 6 for d in dates],
        "is_month_end": [(d + timedelta(days=1)).month != d.month for d in dates],
    }
    for code in EXCHANGES:
        calendar = calendars.get(code)
        sessions = set(sessions_in_range(calendar, start, end)) if calendar else set()
        columns[f"is_trading_day_{code}"] = [d in sessions for d in dates]
    return pa.table(columns, schema=DIM_DATE)
