"""Warehouse load throughput on DuckDB: the Arrow bulk path against executemany INSERTs.

One year × the default universe of one-minute bars (`fact_intraday_bar`, the largest fact:
every session minute of every symbol, ~2.3 million rows) and of daily bars. The rows have the
exact shape of the lake's (the real session minutes of each symbol's calendar) with seeded
random prices: load cost depends on rows and types, not on values. Measured in one run:

- bulk: `DuckDBWarehouse.replace_range` over the whole year (Arrow registered, one
  DELETE + INSERT ... SELECT transaction), into an empty table;
- rerun: the same call again, which deletes and re-inserts every row (the idempotent re-run);
- baseline: a plain DB-API `executemany` of `INSERT ... VALUES (?, ...)` in one transaction,
  on the first `--baseline-rows` rows (row-by-row binding is too slow for the full year).

    python -m benchmarks.warehouse_load --baseline-rows 20000
"""

import argparse
import platform
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from fin_assets.analytics.market_calendar import session_minutes
from fin_assets.analytics.schemas import INTRADAY_BARS
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.universe import load_universe

START, END = date(2025, 1, 1), date(2025, 12, 31)


def year_of_minutes(seed: int = 1) -> pa.Table:
    """INTRADAY_BARS rows of every session minute of START..END for the whole universe."""
    rng = np.random.default_rng(seed)
    frames = []
    for symbol in load_universe():
        day = START
        while day <= END:
            minutes = session_minutes(symbol.calendar, day)
            if len(minutes):
                close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, len(minutes))))
                frames.append(
                    pd.DataFrame(
                        {
                            "symbol": symbol.symbol,
                            "trade_date": day,
                            "ts": minutes,
                            "open": close,
                            "high": close * 1.001,
                            "low": close * 0.999,
                            "close": close,
                            "volume": rng.uniform(100, 1000, len(minutes)),
                        }
                    )
                )
            day += timedelta(days=1)
    frame = pd.concat(frames, ignore_index=True)
    return pa.Table.from_pandas(frame, schema=INTRADAY_BARS, preserve_index=False)


def daily_of(minutes: pa.Table) -> pa.Table:
    """fact_daily_bar rows (open, high, low, close, volume per symbol and date) of the minutes."""
    frame = minutes.to_pandas()
    daily = (
        frame.groupby(["symbol", "trade_date"], sort=True)
        .agg(
            open=("open", "first"),
            high=("high", "max"),
            low=("low", "min"),
            close=("close", "last"),
            volume=("volume", "sum"),
        )
        .reset_index()
    )
    return pa.Table.from_pandas(daily, preserve_index=False)


def timed(work) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def executemany_seconds(path: str, table: str, rows: pa.Table) -> float:
    """Seconds to INSERT `rows` with executemany in one transaction (schema already there)."""
    columns = rows.column_names
    values = list(zip(*(rows[c].to_pylist() for c in columns), strict=True))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    with duckdb.connect(path) as con:

        def insert() -> None:
            con.begin()
            con.executemany(sql, values)
            con.commit()

        return timed(insert)


def measure(folder: Path, table: str, rows: pa.Table, baseline_rows: int) -> dict[str, float]:
    """Seconds of the bulk load, its re-run and the executemany baseline of one table."""
    bulk = DuckDBWarehouse(str(folder / f"{table}_bulk.duckdb"))
    bulk.ensure_schema()
    first = timed(lambda: bulk.replace_range(table, rows, start=START, end=END))
    rerun = timed(lambda: bulk.replace_range(table, rows, start=START, end=END))
    assert bulk.row_counts()[table] == rows.num_rows
    plain = DuckDBWarehouse(str(folder / f"{table}_plain.duckdb"))
    plain.ensure_schema()
    sample = rows.slice(0, min(baseline_rows, rows.num_rows))
    baseline = executemany_seconds(plain.path, table, sample)
    return {
        "rows": rows.num_rows,
        "bulk_s": first,
        "rerun_s": rerun,
        "baseline_rows": sample.num_rows,
        "baseline_s": baseline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    args = parser.parse_args()
    console = Console()
    console.print(
        f"{platform.processor() or platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, duckdb {duckdb.__version__}, pyarrow {pa.__version__}"
    )
    minutes = year_of_minutes()
    tables = {"fact_intraday_bar": minutes, "fact_daily_bar": daily_of(minutes)}
    result = Table(title=f"DuckDB warehouse loads, {START} → {END} × {len(load_universe())}")
    for column in (
        "table",
        "rows",
        "bulk rows/s",
        "re-run s (first s)",
        "executemany rows/s",
        "bulk / executemany",
    ):
        result.add_column(column, justify="left" if column == "table" else "right")
    with tempfile.TemporaryDirectory() as folder:
        for table, rows in tables.items():
            m = measure(Path(folder), table, rows, args.baseline_rows)
            bulk_rate = m["rows"] / m["bulk_s"]
            plain_rate = m["baseline_rows"] / m["baseline_s"]
            result.add_row(
                table,
                f"{m['rows']:,}",
                f"{bulk_rate:,.0f}",
                f"{m['rerun_s']:.2f} ({m['bulk_s']:.2f})",
                f"{plain_rate:,.0f} (on {m['baseline_rows']:,})",
                f"{bulk_rate / plain_rate:,.0f}×",
            )
    console.print(result)


if __name__ == "__main__":
    main()
