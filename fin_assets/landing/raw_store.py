"""The raw layer's layout: immutable payloads per (vendor, symbol, trade date), content-addressed.

`raw/{vendor}/symbol={SYMBOL}/trade_date={YYYY-MM-DD}/{received-at UTC}-{sha256[:16]}.{ext}`:
sorting a partition's keys gives the order in which the payloads were received.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.market_data import RawPayload, decode_payload

RAW_PREFIX = "raw"


def raw_partition_prefix(vendor: str, symbol: str, trade_date: str) -> str:
    """Folder of one partition's payloads: every fetch with new content adds one object."""
    return f"{RAW_PREFIX}/{vendor}/symbol={symbol}/trade_date={trade_date}/"


def store_payload(
    lake: ParquetLake,
    payload: RawPayload,
    symbol: str,
    trade_date: str,
    received_at: datetime | None = None,
) -> bool:
    """Keep a payload unless identical bytes are already stored; True when a new object was added.

    Object names are `<received-at UTC>-<sha256[:16]>.<ext>` (received_at defaults to now; the
    landing zone passes the file's landing time): sorting them gives arrival order, and the
    newest is what the bars layer decodes. Objects are never rewritten.
    """
    prefix = raw_partition_prefix(payload.vendor, symbol, trade_date)
    digest = payload.sha256[:16]
    if any(key.endswith(f"-{digest}.{payload.extension}") for key in lake.list_objects(prefix)):
        return False
    stamp = (received_at or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return lake.put_object(f"{prefix}{stamp}-{digest}.{payload.extension}", payload.content)


def stored_bar_count(lake: ParquetLake, vendor: str, symbol: str, trade_date: str) -> int | None:
    """Bars in the partition's newest payload of `vendor` (decoded), None when it has none.

    0 is "no data": the vendor answered without a bar for a session, which a later pull asks
    again (fin_assets.defs.ingest, fin_assets.defs.schedules).
    """
    keys = lake.list_objects(raw_partition_prefix(vendor, symbol, trade_date))
    if not keys:
        return None
    return len(decode_payload(vendor, lake.get_object(keys[-1])))
