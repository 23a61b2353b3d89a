"""Landing files for the tests: bars of real session minutes in the three formats, put on S3."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from fin_assets.analytics.market_calendar import session_minutes
from fin_assets.resources.lake import ParquetLake

COLUMNS = ["ts", "open", "high", "low", "close", "volume"]


def minute_bars(calendar: str, day: date, first: int, count: int, base: float) -> pd.DataFrame:
    """`count` bars from the session's minute `first`: open base+i, high +1, low -1, close +0.5,
    volume 100+i (OHLC-consistent)."""
    ts = session_minutes(calendar, day)[first : first + count]
    steps = range(count)
    return pd.DataFrame(
        {
            "ts": ts,
            "open": [base + i for i in steps],
            "high": [base + i + 1 for i in steps],
            "low": [base + i - 1 for i in steps],
            "close": [base + i + 0.5 for i in steps],
            "volume": [100.0 + i for i in steps],
        }
    )


def csv_bytes(bars: pd.DataFrame) -> bytes:
    lines = [",".join(COLUMNS)] + [
        f"{row.ts.isoformat()},{row.open},{row.high},{row.low},{row.close},{row.volume}"
        for row in bars.itertuples()
    ]
    return ("\n".join(lines) + "\n").encode()


def json_bytes(bars: pd.DataFrame) -> bytes:
    rows = [
        {"ts": int(row.ts.timestamp() * 1000), **{c: getattr(row, c) for c in COLUMNS[1:]}}
        for row in bars.itertuples()
    ]
    return json.dumps(rows).encode()


def parquet_bytes(bars: pd.DataFrame) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(bars, preserve_index=False), sink)
    return sink.getvalue().to_pybytes()


def put(bucket: str, key: str, content: bytes, started: datetime | None = None) -> None:
    """Put a file into the lake of the moto bucket; `started` sets its server-side LastModified
    (second resolution): the time S3 shows for an upload that started then."""
    ParquetLake(f"s3://{bucket}/lake").replace_object(key, content)
    if started is not None:
        stored = s3_backends[DEFAULT_ACCOUNT_ID]["global"].buckets[bucket].keys[f"lake/{key}"]
        stored.last_modified = started.astimezone(UTC).replace(tzinfo=None)
