"""What the core asks of an object store and of the partitioned lake, as protocols: the core's
domain logic (the landing zone, the raw layer) is given a store and never imports the adapter
that implements it (fin_assets.resources.object_store, fin_assets.resources.lake).

COMPRESSION is the codec of every Parquet file the platform writes: lake partitions, the
landing files it splits or streams, the Spark jobs' output.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

import pyarrow as pa

COMPRESSION = "snappy"


class ImmutableObjectError(ValueError):
    """A raw object already exists at the key with different bytes."""


class ObjectTooLargeError(ValueError):
    """An object holds more bytes than a bounded read allows."""


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: its key (relative to the root), last-modified time (UTC), size and
    kind: "file", or on a local lake "symlink" (never followed: time and size are the link's
    own), "special" (a FIFO, socket or device) or "folder" (one the listing may not open).

    On S3 the time has one-second resolution (the LastModified of the listing).
    """

    key: str
    last_modified: datetime
    size: int
    kind: str = "file"


class ObjectStore(Protocol):
    """Objects by key (fin_assets.resources.object_store.ArrowObjectStore documents each)."""

    def put_object(self, key: str, content: bytes) -> bool: ...

    def get_object(self, key: str) -> bytes: ...

    def list_objects(self, prefix: str) -> list[str]: ...

    def has_object(self, key: str) -> bool: ...

    def object_info(self, key: str) -> ObjectInfo: ...

    def object_etag(self, key: str) -> str: ...

    def read_object(self, key: str, max_bytes: int) -> bytes: ...

    def move_object(self, key: str, new_key: str) -> None: ...


class PartitionReader(Protocol):
    """The partitioned lake's reads (fin_assets.resources.lake.ParquetLake documents each)."""

    def existing_dates(self, dataset: str, symbol: str | None = None) -> set[date]: ...

    def read_partitions(
        self,
        dataset: str,
        schema: pa.Schema,
        trade_dates: Iterable[date],
        symbol: str | None = None,
    ) -> pa.Table: ...


class Lake(ObjectStore, PartitionReader, Protocol):
    """An object store that also reads lake partitions (what the landing zone's ingestion is
    given: it stores payloads and checks bars against the history)."""
