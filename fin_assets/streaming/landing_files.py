"""Landing files of the stream: closed one-minute bars of one (symbol, trade date) per file.

Key (the landing-zone contract, see docs/streaming.md):
`landing/{SYMBOL}/{YYYY-MM-DD}/{topic}-{partition}-{first_offset}-{last_offset}.parquet`, where
first..last is the offset range of the partition consumed by that flush. The same flush of the
same partition always holds the same bars, so a replay writes the same key with the same bytes
(ParquetLake.put_object accepts identical bytes and refuses different ones).

Content: columns ts (bar open, timestamp[ms, UTC]), open, high, low, close, volume (float64),
sorted by ts, Snappy-compressed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from fin_assets.landing.contract import LANDING_PREFIX
from fin_assets.objects.store import COMPRESSION
from fin_assets.resources.lake import ParquetLake
from fin_assets.streaming.minute_bars import ClosedBar

BAR_VALUES = ("open", "high", "low", "close", "volume")
LANDING_SCHEMA = pa.schema(
    [
        pa.field("ts", pa.timestamp("ms", tz="UTC"), nullable=False),
        *(pa.field(name, pa.float64(), nullable=False) for name in BAR_VALUES),
    ]
)


def landing_key(
    symbol: str, trade_date: date, topic: str, partition: int, first: int, last: int
) -> str:
    """The deterministic key of one flush's file for (symbol, trade_date)."""
    name = f"{topic}-{partition}-{first}-{last}.parquet"
    return f"{LANDING_PREFIX}/{symbol}/{trade_date.isoformat()}/{name}"


def bars_table(bars: Iterable[ClosedBar]) -> pa.Table:
    """LANDING_SCHEMA table of `bars` (all of one symbol and date), sorted by ts."""
    ordered = sorted(bars, key=lambda bar: bar.minute)
    columns = {
        "ts": [bar.minute for bar in ordered],
        **{name: [getattr(bar, name) for bar in ordered] for name in BAR_VALUES},
    }
    return pa.table(columns, schema=LANDING_SCHEMA)


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression=COMPRESSION)
    return sink.getvalue().to_pybytes()


def write_landing_files(
    lake: ParquetLake,
    bars: Iterable[ClosedBar],
    topic: str,
    partition: int,
    first: int,
    last: int,
) -> list[str]:
    """Write one file per (symbol, trade date) of `bars`; returns the keys (sorted).

    Each write is atomic; rewriting a key with identical bytes is a no-op, with different
    bytes an ImmutableObjectError (a replay that does not reproduce the flush).
    """
    groups: dict[tuple[str, date], list[ClosedBar]] = defaultdict(list)
    for bar in bars:
        groups[(bar.symbol, bar.trade_date)].append(bar)
    keys = []
    for (symbol, trade_date), group in sorted(groups.items()):
        key = landing_key(symbol, trade_date, topic, partition, first, last)
        lake.put_object(key, parquet_bytes(bars_table(group)))
        keys.append(key)
    return keys
