"""Parquet lake over `pyarrow.fs`: the same code writes a local folder or an object store.

Layout (hive style, readable by DuckDB and Spark):

- per-symbol datasets: `{root}/{dataset}/symbol={SYMBOL}/trade_date={YYYY-MM-DD}/part-0.parquet`
- date-only datasets:  `{root}/{dataset}/trade_date={YYYY-MM-DD}/part-0.parquet`
- raw objects:         `{root}/{key}`, immutable once written

Every write is atomic. On a local filesystem the bytes go to a temporary file in the target
directory (name starting with ".", so listings and readers ignore it) that is then renamed over
the final path (`os.replace` semantics). On an object store a single PUT is already atomic, so
the final key is written directly.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

PART_FILE = "part-0.parquet"
COMPRESSION = "snappy"
MAX_LISTED_MISSING = 10
_PARTITION_FILE = re.compile(rf"trade_date=(\d{{4}}-\d{{2}}-\d{{2}})/{re.escape(PART_FILE)}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_URI_CREDENTIALS = re.compile(
    r"^[a-z0-9+.-]+://[^/?#]*@|[?&](access_key|secret_key|session_token)="
)


class MissingPartitionsError(ValueError):
    """Some requested lake partitions do not exist."""


class ImmutableObjectError(ValueError):
    """A raw object already exists at the key with different bytes."""


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: its key (relative to the root), last-modified time (UTC) and size.

    On S3 the time has one-second resolution (the LastModified of the listing).
    """

    key: str
    last_modified: datetime
    size: int


def _is_temporary(name: str) -> bool:
    """Temporary files start with "." or "_tmp"; every reader and listing skips them."""
    return name.startswith((".", "_tmp"))


def _check_name(kind: str, value: str) -> None:
    if not _NAME.fullmatch(value):
        raise ValueError(f"invalid {kind} {value!r}: use letters, digits, '_', '.', '-'")


def _check_key(key: str) -> None:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid object key {key!r}: must be a relative path like 'a/b.json'")
    if any(_is_temporary(p) for p in parts):
        raise ValueError(f"invalid object key {key!r}: no part may start with '.' or '_tmp'")


def _check_partition_content(table: pa.Table, trade_date: date, symbol: str | None) -> None:
    """The `trade_date` (and `symbol`) columns, when present, must match the partition."""
    expected = {"trade_date": pa.scalar(trade_date, pa.date32())}
    if symbol is not None:
        expected["symbol"] = pa.scalar(symbol, pa.string())
    for column, value in expected.items():
        if column not in table.column_names or table.num_rows == 0:
            continue
        matches = pc.equal(table[column], value.cast(table.schema.field(column).type))
        if not pc.all(matches).as_py() or table[column].null_count:
            found = sorted(map(str, pc.unique(table[column]).to_pylist()))
            raise ValueError(f"{column} values {found[:10]} do not all equal partition {value}")


class ParquetLake:
    """Parquet datasets partitioned by symbol and trade date, plus immutable raw objects.

    `root` is a local path (made absolute; the folder is created) or a URI such as
    `s3://bucket/prefix` (anything containing "://", resolved by `FileSystem.from_uri`). On S3
    the credentials come from the standard AWS chain (environment, profile, instance role) and
    AWS_ENDPOINT_URL selects another endpoint (moto, MinIO); a URI carrying credentials is
    refused, so that they never reach configuration, logs or error messages.
    """

    def __init__(self, root: str) -> None:
        if "://" in root:
            if _URI_CREDENTIALS.search(root):
                raise ValueError(
                    "the lake URI must not carry credentials (user:secret@ or access_key/"
                    "secret_key parameters): use the AWS credential chain"
                )
            self.filesystem, self.root = pafs.FileSystem.from_uri(root)
        else:
            self.filesystem, self.root = pafs.LocalFileSystem(), str(Path(root).resolve())
        self.root = self.root.rstrip("/")
        self._is_local = isinstance(self.filesystem, pafs.LocalFileSystem)
        if self._is_local:
            self.filesystem.create_dir(self.root, recursive=True)

    def uri(self, path: str) -> str:
        """Human-readable location of a filesystem path: `s3://bucket/key`, or the local path."""
        return path if self._is_local else f"{self.filesystem.type_name}://{path}"

    def partition_path(self, dataset: str, trade_date: date, symbol: str | None = None) -> str:
        """Filesystem path of one partition file (symbol=None for date-only datasets)."""
        directory = self._partition_dir(dataset, symbol)
        return f"{directory}/trade_date={trade_date.isoformat()}/{PART_FILE}"

    def write_partition(
        self, dataset: str, table: pa.Table, *, trade_date: date, symbol: str | None = None
    ) -> str:
        """Atomically write (or replace) one partition; returns its filesystem path.

        A zero-row table is a valid partition (an explicit "no session" result). When the table
        has `trade_date` / `symbol` columns, every value must equal the partition's, else
        ValueError. Snappy-compressed.
        """
        _check_partition_content(table, trade_date, symbol)
        path = self.partition_path(dataset, trade_date, symbol)
        self._atomic_write(path, lambda sink: pq.write_table(table, sink, compression=COMPRESSION))
        return path

    def read_partitions(
        self,
        dataset: str,
        schema: pa.Schema,
        trade_dates: Iterable[date],
        symbol: str | None = None,
    ) -> pa.Table:
        """Read exactly the partitions of `trade_dates`, concatenated in ascending date order.

        Columns are selected by name and cast to `schema` (ValueError if one is missing).
        Raises MissingPartitionsError listing the first 10 missing (symbol, date) and their count.
        """
        dates = sorted(set(trade_dates))
        paths = [self.partition_path(dataset, d, symbol) for d in dates]
        infos = self.filesystem.get_file_info(paths)
        missing = [
            d for d, info in zip(dates, infos, strict=True) if info.type != pafs.FileType.File
        ]
        if missing:
            listed = ", ".join(f"({symbol}, {d.isoformat()})" for d in missing[:MAX_LISTED_MISSING])
            raise MissingPartitionsError(
                f"{len(missing)} missing partition(s) of {self.uri(self._dataset_dir(dataset))}: "
                f"{listed}{' ...' if len(missing) > MAX_LISTED_MISSING else ''}"
            )
        if not paths:
            return schema.empty_table()
        files = ds.dataset(paths, format="parquet", filesystem=self.filesystem)
        absent = [name for name in schema.names if name not in files.schema.names]
        if absent:
            raise ValueError(f"{self.uri(self._dataset_dir(dataset))} lacks columns {absent}")
        return files.to_table(columns=schema.names).cast(schema)

    def existing_dates(self, dataset: str, symbol: str | None = None) -> set[date]:
        """Trade dates whose partition file exists (symbol=None for date-only datasets)."""
        base = self._partition_dir(dataset, symbol)
        selector = pafs.FileSelector(base, allow_not_found=True, recursive=True)
        found = set()
        for info in self.filesystem.get_file_info(selector):
            match = _PARTITION_FILE.fullmatch(info.path[len(base) + 1 :])
            if match and info.type == pafs.FileType.File:
                found.add(date.fromisoformat(match.group(1)))
        return found

    def put_object(self, key: str, content: bytes) -> bool:
        """Write an immutable raw object atomically if absent.

        Returns True if written, False if identical bytes were already there; raises
        ImmutableObjectError if different bytes exist. Check-then-write: concurrent writers of
        one key must write identical bytes (true for content fetched once per key).
        """
        _check_key(key)
        path = f"{self.root}/{key}"
        if self.filesystem.get_file_info(path).type == pafs.FileType.File:
            if self.get_object(key) == content:
                return False
            raise ImmutableObjectError(f"{self.uri(path)} already exists with different content")
        self._atomic_write(path, lambda sink: sink.write(content))
        return True

    def get_object(self, key: str) -> bytes:
        """Bytes of a raw object; FileNotFoundError if absent."""
        _check_key(key)
        path = f"{self.root}/{key}"
        if self.filesystem.get_file_info(path).type != pafs.FileType.File:
            raise FileNotFoundError(f"no object at {self.uri(path)}")
        with self.filesystem.open_input_stream(path) as stream:
            return stream.read()

    def list_objects(self, prefix: str) -> list[str]:
        """Sorted keys (relative to the root) of all files under the folder `prefix`."""
        return [info.key for info in self.list_object_infos(prefix)]

    def list_object_infos(self, prefix: str) -> list[ObjectInfo]:
        """Every file under the folder `prefix`, sorted by key; temporary files are skipped.

        One recursive listing scoped to the prefix (on S3: ListObjectsV2 with that prefix).
        """
        base = f"{self.root}/{prefix.strip('/')}".rstrip("/")
        selector = pafs.FileSelector(base, allow_not_found=True, recursive=True)
        infos = [
            self._object_info(info)
            for info in self.filesystem.get_file_info(selector)
            if info.type == pafs.FileType.File
        ]
        return sorted(
            (i for i in infos if not any(_is_temporary(p) for p in i.key.split("/"))),
            key=lambda i: i.key,
        )

    def has_object(self, key: str) -> bool:
        """Whether an object exists at `key`."""
        _check_key(key)
        return self.filesystem.get_file_info(f"{self.root}/{key}").type == pafs.FileType.File

    def object_info(self, key: str) -> ObjectInfo:
        """Key, last-modified time and size of one object; FileNotFoundError if absent."""
        _check_key(key)
        info = self.filesystem.get_file_info(f"{self.root}/{key}")
        if info.type != pafs.FileType.File:
            raise FileNotFoundError(f"no object at {self.uri(info.path)}")
        return self._object_info(info)

    def _object_info(self, info: pafs.FileInfo) -> ObjectInfo:
        return ObjectInfo(info.path[len(self.root) + 1 :], info.mtime.astimezone(UTC), info.size)

    def object_etag(self, key: str) -> str:
        """The object's version tag: its S3 ETag (one HEAD request), or on a local lake the MD5
        of its bytes (what S3 reports for a single-part upload). FileNotFoundError if absent."""
        _check_key(key)
        path = f"{self.root}/{key}"
        if self._is_local:
            return hashlib.md5(self.get_object(key), usedforsecurity=False).hexdigest()
        try:
            with self.filesystem.open_input_stream(path) as stream:
                return stream.metadata()["ETag"].decode().strip('"')
        except FileNotFoundError:
            raise FileNotFoundError(f"no object at {self.uri(path)}") from None

    def replace_object(self, key: str, content: bytes) -> None:
        """Write an object atomically, replacing any previous bytes (not for raw payloads)."""
        _check_key(key)
        self._atomic_write(f"{self.root}/{key}", lambda sink: sink.write(content))

    def move_object(self, key: str, new_key: str) -> None:
        """Move an object to `new_key`, replacing what is there (S3: copy, then delete)."""
        _check_key(key)
        _check_key(new_key)
        target = f"{self.root}/{new_key}"
        if self._is_local:
            self.filesystem.create_dir(target.rsplit("/", 1)[0], recursive=True)
        self.filesystem.move(f"{self.root}/{key}", target)

    def _dataset_dir(self, dataset: str) -> str:
        _check_name("dataset", dataset)
        return f"{self.root}/{dataset}"

    def _partition_dir(self, dataset: str, symbol: str | None) -> str:
        if symbol is None:
            return self._dataset_dir(dataset)
        _check_name("symbol", symbol)
        return f"{self._dataset_dir(dataset)}/symbol={symbol}"

    def _atomic_write(self, path: str, write: Callable[[pa.NativeFile], object]) -> None:
        """Run `write` so that `path` ends up either fully written or untouched.

        Local: stream into a temporary file beside `path`, then rename it over `path`; the
        temporary file is removed on failure. Object store: serialize in memory, then one PUT.
        """
        if not self._is_local:
            buffer = pa.BufferOutputStream()
            write(buffer)
            with self.filesystem.open_output_stream(path) as sink:
                sink.write(buffer.getvalue())
            return
        directory = path.rsplit("/", 1)[0]
        self.filesystem.create_dir(directory, recursive=True)
        temporary = f"{directory}/.{uuid.uuid4().hex}.tmp"
        try:
            with self.filesystem.open_output_stream(temporary) as sink:
                write(sink)
            self.filesystem.move(temporary, path)
        finally:
            if self.filesystem.get_file_info(temporary).type == pafs.FileType.File:
                self.filesystem.delete_file(temporary)
