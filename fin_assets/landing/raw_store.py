"""The raw layer's layout: immutable payloads per (vendor, symbol, trade date), content-addressed.

`raw/{vendor}/symbol={SYMBOL}/trade_date={YYYY-MM-DD}/{received-at UTC}-{sha256[:16]}.{ext}`:
sorting a partition's keys gives the order in which the payloads were received.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from fin_assets.objects.store import ObjectStore

RAW_PREFIX = "raw"


@dataclass(frozen=True)
class RawPayload:
    """One vendor response for one symbol and trade date, as received.

    `params` are the request's parameters without secrets; `fetched_at` (UTC) is when the
    vendor answered, None when the source does not say (the raw layer then uses its own clock).
    `bar_count` is how many bars the payload decodes to when the source checked it (0: the
    vendor had no data for that session, which is not a failure).
    """

    vendor: str
    endpoint: str
    params: Mapping[str, str]
    content: bytes
    media_type: str = "application/json"
    extension: str = "json"
    fetched_at: datetime | None = None
    bar_count: int | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def lineage(self) -> dict[str, object]:
        """Where the payload came from: vendor, endpoint, params, fetched_at (ISO), sha256."""
        return {
            "vendor": self.vendor,
            "endpoint": self.endpoint,
            "params": dict(self.params),
            "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
            "sha256": self.sha256,
        }


def raw_partition_prefix(vendor: str, symbol: str, trade_date: str) -> str:
    """Folder of one partition's payloads: every fetch with new content adds one object."""
    return f"{RAW_PREFIX}/{vendor}/symbol={symbol}/trade_date={trade_date}/"


def store_payload(
    store: ObjectStore,
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
    if any(key.endswith(f"-{digest}.{payload.extension}") for key in store.list_objects(prefix)):
        return False
    stamp = (received_at or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return store.put_object(f"{prefix}{stamp}-{digest}.{payload.extension}", payload.content)
