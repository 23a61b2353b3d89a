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
- Bar lineage (migration 004): `fact_daily_bar.changed_at` is when a bar's values last changed
  in the warehouse (the load time of a new or different bar; an identical reload keeps it).
  The facts derived from bars record in `bars_changed_at` the newest changed_at of the bars
  their look-back covers when they were loaded (`LINEAGE`: the symbol's bars up to the row's
  date, or every symbol's for the portfolio facts). A row is stale when a bar of its look-back
  changed after that; the view `stale_rows` lists them (docs/warehouse.md, "Stale rows").
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


# Bar lineage columns (module docstring), set by the warehouse at load time.
CHANGED_AT = "changed_at"
BARS_CHANGED_AT = "bars_changed_at"
LINEAGE_TYPE = pa.timestamp("us")  # UTC, without time zone (TIMESTAMP / TIMESTAMP_NTZ)
# The watermark view of each lineage: a derived row's look-back on its trade date.
WATERMARK_VIEWS = {"symbol": "bar_watermark", "market": "market_bar_watermark"}


@dataclass(frozen=True)
class TableSpec:
    """One warehouse table: the columns a load provides (Arrow types, in order), its natural
    key, its bar lineage: "bars" (fact_daily_bar: CHANGED_AT), "symbol" or "market" (a
    derived fact: BARS_CHANGED_AT from that WATERMARK_VIEWS view), or None, and the columns
    besides the key that may not be null (`required`). The engines' DDL (warehouse.ddl) and
    the Dagster column schemas are generated from it."""

    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    lineage: str | None = None
    required: tuple[str, ...] = ()

    @property
    def not_null(self) -> tuple[str, ...]:
        """The NOT NULL columns: the key, then `required`."""
        return self.key + tuple(name for name in self.required if name not in self.key)

    @property
    def is_fact(self) -> bool:
        """Facts are keyed by trade date and loaded by date range."""
        return "trade_date" in self.key

    @property
    def lineage_column(self) -> str | None:
        """The lineage column the warehouse sets on load, if any."""
        if self.lineage is None:
            return None
        return CHANGED_AT if self.lineage == "bars" else BARS_CHANGED_AT

    @property
    def stored_schema(self) -> pa.Schema:
        """Every column of the table: the loaded ones, then the lineage column."""
        column = self.lineage_column
        return self.schema if column is None else self.schema.append(pa.field(column, LINEAGE_TYPE))


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
        TableSpec(
            "dim_symbol",
            DIM_SYMBOL,
            ("symbol_key",),
            required=("symbol", "attributes_hash", "valid_from", "valid_to", "is_current"),
        ),
        TableSpec("dim_date", DIM_DATE, ("date_key",), required=tuple(DIM_DATE.names)),
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
            "bars",
        ),
        TableSpec("fact_intraday_bar", schemas.INTRADAY_BARS, ("symbol", "trade_date", "ts")),
        TableSpec(
            "fact_indicator",
            _without(schemas.INDICATORS, "close"),
            ("symbol", "trade_date"),
            "symbol",
        ),
        TableSpec("fact_signal", schemas.SIGNALS, ("symbol", "trade_date", "signal"), "symbol"),
        TableSpec("fact_risk", _without(schemas.RISK, "close"), ("symbol", "trade_date"), "symbol"),
        TableSpec("fact_portfolio_risk", schemas.PORTFOLIO_RISK, ("trade_date",), "market"),
        TableSpec(
            "fact_correlation",
            schemas.CORRELATION,
            ("trade_date", "symbol_a", "symbol_b"),
            "market",
        ),
    )
}
# The facts computed from daily bars, whose rows can be stale (in TABLES order).
DERIVED_FROM_BARS = tuple(name for name, spec in TABLES.items() if spec.lineage in WATERMARK_VIEWS)

# BI views created by the migrations (see docs/warehouse.md).
VIEWS = (
    "dim_symbol_current",
    "mart_daily_market_summary",
    "mart_daily_sector_summary",
    "mart_top_movers",
    "mart_var_exceptions",
    "mart_risk_dashboard",
    "mart_signal_feed",
    "bar_watermark",
    "market_bar_watermark",
    "stale_rows",
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
