"""Reading and writing a run's partitions in the lake (one Parquet file per partition).

The lake is a fin_assets.resources.lake.ParquetLake, passed in by the caller (an asset's
LakeResource, a Spark job's own).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, TypeVar

import pandas as pd
import pyarrow as pa

from fin_assets.analytics.schemas import DAILY_BARS
from fin_assets.shared.partition_scope import PartitionScope
from fin_assets.shared.partitions import partition_values

if TYPE_CHECKING:
    from fin_assets.resources.lake import ParquetLake

# The entry of a Spark job's reported materialization holding its rows per partition key.
PARTITION_ROWS = "partition_rows"
# Symbols whose partitions are read or written at once: each read or write of a symbol mostly
# waits on the object store (a listing, fetches, uploads), so the symbols' waits overlap.
LAKE_THREADS = 8

T = TypeVar("T")


def each_symbol(symbols: Sequence[str], work: Callable[[str], T]) -> list[T]:
    """`work(symbol)` for every symbol, LAKE_THREADS at a time; the results in the symbols'
    order. The first symbol's error (in that order) is raised, once every call has ended."""
    with ThreadPoolExecutor(LAKE_THREADS) as pool:
        futures = [pool.submit(work, symbol) for symbol in symbols]
    return [future.result() for future in futures]


def calendar_dates(start: date, end: date) -> list[date]:
    """Every calendar date from start to end, inclusive."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """The frame as an Arrow table of exactly `schema` (raises if a column does not fit)."""
    return pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)


@dataclass(frozen=True)
class WrittenRows:
    """Rows a run wrote, per Dagster partition key of the run (zero for an empty partition).

    A date × block partition counts the rows of all its symbols on that date.
    """

    by_partition: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_partition.values())


def write_symbol_partitions(
    lake: ParquetLake, dataset: str, schema: pa.Schema, frame: pd.DataFrame, scope: PartitionScope
) -> WrittenRows:
    """Write one file per (symbol, date) of the scope; dates without rows get a zero-row file.

    Rows outside the scope are a programming error and raise before anything is written.
    Returns the rows written per partition.
    """
    frame = frame.sort_values(["symbol", "trade_date"], kind="stable").reset_index(drop=True)
    in_scope = frame["symbol"].isin(scope.symbols) & frame["trade_date"].between(
        scope.start, scope.end
    )
    if not in_scope.all():
        raise ValueError(f"{dataset}: {int((~in_scope).sum())} rows fall outside the run's scope")
    table = to_arrow(frame, schema)
    bounds = _group_bounds(frame, ["symbol", "trade_date"])

    def write_symbol(symbol: str) -> None:
        for trade_date in scope.dates:
            offset, length = bounds.get((symbol, trade_date), (0, 0))
            lake.write_partition(
                dataset, table.slice(offset, length), trade_date=trade_date, symbol=symbol
            )

    each_symbol(scope.symbols, write_symbol)
    return symbol_partition_rows(bounds, scope)


def symbol_partition_rows(
    bounds: Mapping[tuple, tuple[int, int]], scope: PartitionScope
) -> WrittenRows:
    """Rows per date × member partition of the scope from (symbol, date) → (offset, length)."""
    values = partition_values()
    rows: dict[str, int] = {}
    for symbol in scope.symbols:
        for trade_date in scope.dates:
            key = values.partition_key_text(trade_date, values.partition_of[symbol])
            rows[key] = rows.get(key, 0) + bounds.get((symbol, trade_date), (0, 0))[1]
    return WrittenRows(rows)


def count_symbol_partitions(table: pa.Table, scope: PartitionScope) -> WrittenRows:
    """Rows per date × member partition of an Arrow table of the scope's rows."""
    counts = table.group_by(["symbol", "trade_date"]).aggregate([([], "count_all")]).to_pylist()
    bounds = {(row["symbol"], row["trade_date"]): (0, row["count_all"]) for row in counts}
    return symbol_partition_rows(bounds, scope)


def count_date_partitions(table: pa.Table, dates: Iterable[date]) -> WrittenRows:
    """Rows per date partition of an Arrow table of the dates' rows."""
    counts = table.group_by(["trade_date"]).aggregate([([], "count_all")]).to_pylist()
    by_date = {row["trade_date"]: row["count_all"] for row in counts}
    return WrittenRows({str(d): by_date.get(d, 0) for d in dates})


def write_date_partitions(
    lake: ParquetLake, dataset: str, schema: pa.Schema, frame: pd.DataFrame, dates: Iterable[date]
) -> WrittenRows:
    """Write one file per date of a date-partitioned dataset (zero-row files where no rows);
    returns the rows written per date partition."""
    dates = list(dates)
    frame = frame.sort_values("trade_date", kind="stable").reset_index(drop=True)
    if not frame["trade_date"].isin(dates).all():
        raise ValueError(f"{dataset}: rows fall outside the run's dates")
    table = to_arrow(frame, schema)
    bounds = _group_bounds(frame, ["trade_date"])
    for trade_date in dates:
        offset, length = bounds.get((trade_date,), (0, 0))
        lake.write_partition(dataset, table.slice(offset, length), trade_date=trade_date)
    return WrittenRows({str(d): bounds.get((d,), (0, 0))[1] for d in dates})


def _group_bounds(frame: pd.DataFrame, keys: list[str]) -> dict[tuple, tuple[int, int]]:
    """(offset, length) of each key's contiguous block in a frame sorted by `keys`."""
    if frame.empty:
        return {}
    sizes = frame.groupby(keys, sort=False).size()
    offsets = sizes.cumsum() - sizes
    return {
        (key if isinstance(key, tuple) else (key,)): (int(offsets[key]), int(size))
        for key, size in sizes.items()
    }


def read_symbol_history(
    lake: ParquetLake, dataset: str, schema: pa.Schema, symbol: str, start: date, end: date
) -> pd.DataFrame:
    """Every row of one symbol from start to end; raises if any date's partition is missing."""
    return lake.read_partitions(
        dataset, schema, calendar_dates(start, end), symbol=symbol
    ).to_pandas()


def read_scope(
    lake: ParquetLake, dataset: str, schema: pa.Schema, scope: PartitionScope
) -> pd.DataFrame:
    """Every row of the scope's partitions (symbols in scope order, then dates)."""
    return read_scope_table(lake, dataset, schema, scope).to_pandas()


def read_scope_table(
    lake: ParquetLake, dataset: str, schema: pa.Schema, scope: PartitionScope
) -> pa.Table:
    """Every row of the scope's partitions as an Arrow table (symbols in scope order, then
    dates)."""
    tables = each_symbol(
        scope.symbols,
        lambda symbol: lake.read_partitions(dataset, schema, scope.dates, symbol=symbol),
    )
    return pa.concat_tables(tables)


def daily_history(lake: ParquetLake, scope: PartitionScope, symbol: str) -> pd.DataFrame:
    """The symbol's whole daily history: its daily bars from the history start to the scope's
    end, so that the figures of a date never depend on how runs were split."""
    start = partition_values().history_start
    return read_symbol_history(lake, "daily_bars", DAILY_BARS, symbol, start, scope.end)


def daily_histories(lake: ParquetLake, scope: PartitionScope) -> list[pd.DataFrame]:
    """Each scope symbol's daily_history, in scope order (read LAKE_THREADS symbols at once)."""
    return each_symbol(scope.symbols, lambda symbol: daily_history(lake, scope, symbol))


def over_daily_history(
    lake: ParquetLake, scope: PartitionScope, compute: Callable[[pd.DataFrame], pd.DataFrame]
) -> pd.DataFrame:
    """`compute` applied to each scope symbol's daily_history, concatenated in scope order."""
    frames = [compute(history) for history in daily_histories(lake, scope)]
    return pd.concat(frames, ignore_index=True)


def in_scope_order(frame: pd.DataFrame, scope: PartitionScope) -> pd.DataFrame:
    """`frame`'s rows with their symbols in scope order (a stable sort: each symbol's rows keep
    their order), as over_daily_history concatenates them."""
    position = {symbol: index for index, symbol in enumerate(scope.symbols)}
    ordered = frame.sort_values("symbol", key=lambda s: s.map(position), kind="stable")
    return ordered.reset_index(drop=True)


def from_date(frame: pd.DataFrame, start: date) -> pd.DataFrame:
    """The rows of `frame` on or after `start`."""
    return frame[frame["trade_date"] >= start].reset_index(drop=True)
