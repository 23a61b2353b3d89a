"""Parquet lake over `pyarrow.fs`: the same code writes a local folder or an object store.

Layout (hive style, readable by DuckDB and Spark):

- per-symbol datasets: `{root}/{dataset}/symbol={SYMBOL}/trade_date={YYYY-MM-DD}/part-0.parquet`
- date-only datasets:  `{root}/{dataset}/trade_date={YYYY-MM-DD}/part-0.parquet`
- raw objects:         `{root}/{key}`, immutable once written

Zones: an object key's first path segment names its zone. The zones in ZONES (`landing`,
`quarantine`, `raw`) may live under roots of their own (`zone_roots`: e.g. one bucket each),
keeping their keys: a zone root holds exactly the keys the single lake would, so
`landing/AAPL/2025-01-02/x.csv` with the landing zone at `s3://landing-bucket` is the object
`s3://landing-bucket/landing/AAPL/2025-01-02/x.csv`. Every other key and every dataset lives
under `root` (the curated zone). Without `zone_roots` everything lives under `root`.

Every write is atomic. On a local filesystem the bytes go to a temporary file in the target
directory (name starting with ".", so listings and readers ignore it) that is then renamed over
the final path (`os.replace` semantics). On an object store a single PUT is already atomic, so
the final key is written directly.

Reads are cached: a ParquetLake keeps the partition files it has read (decoded, per requested
schema), keyed by (path, size, modification time), so a run whose steps read the same history
(indicators, anomalies and risk each read every symbol's daily bars) fetches each file once.
A rewritten file is read again: its listing or stat gives another size or time. A file
modified in the last RACY_SECONDS is never cached ("racily clean", as git calls it): S3 keeps
modification times to the second, so a rewrite in the same second with the same size would
look unchanged. Resources hold one lake per run (fin_assets.resources.storage), so the cache
lives as long as the run; it keeps at most MAX_CACHED_FILES files, least recently used first out.

Staging (write-audit-publish for a run, docs/reliability.md): a lake opened with
`staging_run` writes its partitions under `{root}/_tmp_staging/{run id}/` (the same relative
layout), and reads each partition from there when the run staged it, else from the published
layout: the run's steps see what the run wrote, other readers see nothing of it. The staging
folder is temporary by name (listings skip it). `commit_staged` marks a run's staging as
decided, `publish_staged` moves each staged file over its published path (one atomic rename
per file locally, copy then delete on S3) and removes the folder; `discard_staged` removes it.
A staged `year=YYYY/part-0.parquet` (a compacted copy's symbol-year) replaces every file of its
published folder.
`staged_runs` lists the runs with a staging folder and whether each was committed.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

PART_FILE = "part-0.parquet"
COMPRESSION = "snappy"
MAX_LISTED_MISSING = 10
# The read cache (module docstring): files modified less than RACY_SECONDS ago are not cached
# (S3's one-second modification times, and a second for the clocks of the store and this host).
RACY_SECONDS = 2
MAX_CACHED_FILES = 50_000
# Bytes per read when an object is streamed (hashing, bounded reads, moves across roots).
CHUNK_BYTES = 1 << 20
# Key prefixes (first path segments) that may live under their own root (see the module doc).
ZONES = ("landing", "quarantine", "raw")
# Run-scoped staging folder under the curated root (a temporary name: listings skip it).
STAGING_DIR = "_tmp_staging"
COMMITTED_MARKER = "_COMMITTED"
_PARTITION_FILE = re.compile(rf"trade_date=(\d{{4}}-\d{{2}}-\d{{2}})/{re.escape(PART_FILE)}")
# A compacted copy's symbol-year file (spark_resources.compaction_job): published, it replaces
# every file of its folder.
_YEAR_FILE = re.compile(rf"/year=\d{{4}}/{re.escape(PART_FILE)}$")
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
    """One stored object: its key (relative to the root), last-modified time (UTC), size and
    kind: "file", or on a local lake "symlink" (never followed: time and size are the link's
    own), "special" (a FIFO, socket or device) or "folder" (one the listing may not open).

    On S3 the time has one-second resolution (the LastModified of the listing).
    """

    key: str
    last_modified: datetime
    size: int
    kind: str = "file"


class ObjectTooLargeError(ValueError):
    """An object holds more bytes than a bounded read allows."""


def _is_temporary(name: str) -> bool:
    """Temporary files start with "." or "_tmp"; every reader and listing skips them."""
    return name.startswith((".", "_tmp")) and name not in (".", "..")


def is_unaddressable_key(key: str) -> bool:
    """Whether `key` has an empty, "." or ".." segment: S3 accepts such keys, but pyarrow's
    filesystems refuse the first and resolve the others, so the lake cannot read or move them."""
    return any(part in ("", ".", "..") for part in key.split("/"))


def is_temporary_key(key: str) -> bool:
    """Whether a segment of `key` is a temporary name (starts with "." or "_tmp")."""
    return any(_is_temporary(part) for part in key.split("/"))


def check_name(kind: str, value: str) -> None:
    """A name forming a lake key (symbol, dataset): letters, digits, '_', '.', '-', starting
    with a letter or digit; ValueError otherwise."""
    if not _NAME.fullmatch(value):
        raise ValueError(f"invalid {kind} {value!r}: use letters, digits, '_', '.', '-'")


def _check_key(key: str) -> None:
    if is_unaddressable_key(key):
        raise ValueError(f"invalid object key {key!r}: must be a relative path like 'a/b.json'")
    if is_temporary_key(key):
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


def _with_delayed_open(uri: str) -> str:
    """An s3:// URI with `allow_delayed_open=true` unless it sets that option itself: pyarrow
    then uploads a file that fits in one part with a single PutObject, where it would otherwise
    start a multipart upload (three requests for every small partition file)."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or "allow_delayed_open" in parse_qs(parts.query):
        return uri
    query = f"{parts.query}&allow_delayed_open=true" if parts.query else "allow_delayed_open=true"
    return urlunsplit(parts._replace(query=query))


@dataclass(frozen=True)
class _Root:
    """One root of the lake: a filesystem and the root's path in it (no trailing "/")."""

    filesystem: pafs.FileSystem
    path: str

    @classmethod
    def open(cls, root: str) -> _Root:
        """The root of a local path (made absolute; the folder is created) or of a URI."""
        if "://" not in root:
            filesystem = pafs.LocalFileSystem()
            path = str(Path(root).resolve())
            filesystem.create_dir(path, recursive=True)
            return cls(filesystem, path)
        if _URI_CREDENTIALS.search(root):
            raise ValueError(
                "the lake URI must not carry credentials (user:secret@ or access_key/"
                "secret_key parameters): use the AWS credential chain"
            )
        filesystem, path = pafs.FileSystem.from_uri(_with_delayed_open(root))
        return cls(filesystem, path.rstrip("/"))

    @property
    def is_local(self) -> bool:
        return isinstance(self.filesystem, pafs.LocalFileSystem)

    @property
    def location(self) -> tuple[str, str]:
        """(filesystem type, root path): equal for two roots naming the same place."""
        return self.filesystem.type_name, self.path

    def key_path(self, key: str) -> str:
        """Filesystem path of an object key (checked)."""
        _check_key(key)
        return f"{self.path}/{key}"

    def uri(self, path: str) -> str:
        """Human-readable location of a filesystem path: `s3://bucket/key`, or the local path."""
        return path if self.is_local else f"{self.filesystem.type_name}://{path}"

    def is_file(self, path: str) -> bool:
        return self.filesystem.get_file_info(path).type == pafs.FileType.File

    def read(self, path: str) -> bytes:
        """Bytes of the file at `path`; FileNotFoundError naming its URI if absent."""
        if not self.is_file(path):
            raise FileNotFoundError(f"no object at {self.uri(path)}")
        with self.filesystem.open_input_stream(path) as stream:
            return stream.read()

    def object_info(self, info: pafs.FileInfo) -> ObjectInfo:
        return ObjectInfo(info.path[len(self.path) + 1 :], info.mtime.astimezone(UTC), info.size)

    def local_info(self, path: str, status: os.stat_result) -> ObjectInfo:
        """The ObjectInfo of a local path from its lstat (a link is not followed)."""
        if stat.S_ISREG(status.st_mode):
            kind = "file"
        elif stat.S_ISLNK(status.st_mode):
            kind = "symlink"
        elif stat.S_ISDIR(status.st_mode):
            kind = "folder"
        else:
            kind = "special"
        modified = datetime.fromtimestamp(status.st_mtime_ns / 1e9, UTC)
        return ObjectInfo(path[len(self.path) + 1 :], modified, status.st_size, kind)

    def list_infos(self, base: str) -> list[ObjectInfo]:
        """Every object under the folder `base`. Local: a walk that never follows a symbolic
        link (a link to a file or a folder is one object of kind "symlink"); object store: one
        recursive listing scoped to the prefix (a key listed twice, as "x" and "x/", once). A
        local folder that may not be opened is one object of kind "folder"."""
        if not self.is_local:
            selector = pafs.FileSelector(base, allow_not_found=True, recursive=True)
            infos = {
                info.path: self.object_info(info)
                for info in self.filesystem.get_file_info(selector)
                if info.type == pafs.FileType.File
            }
            return list(infos.values())
        found = []
        folders = [base]
        while folders:
            folder = folders.pop()
            try:
                entries = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError):
                continue
            except PermissionError:
                found.append(self.local_info(folder, os.lstat(folder)))
                continue
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                else:
                    found.append(self.local_info(entry.path, entry.stat(follow_symlinks=False)))
        return found

    def open_no_follow(self, path: str) -> pa.NativeFile:
        """An input stream of the object at `path`; on a local lake a symbolic link is refused
        (O_NOFOLLOW) rather than followed. FileNotFoundError naming its URI if absent."""
        if not self.is_local:
            try:
                return self.filesystem.open_input_stream(path)
            except FileNotFoundError:
                raise FileNotFoundError(f"no object at {self.uri(path)}") from None
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            raise FileNotFoundError(f"no object at {self.uri(path)}") from None
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            raise OSError(f"{path} is not a regular file")
        return pa.PythonFile(os.fdopen(descriptor, "rb"), mode="r")

    def atomic_write(self, path: str, write: Callable[[pa.NativeFile], object]) -> None:
        """Run `write` so that `path` ends up either fully written or untouched.

        Local: stream into a temporary file beside `path`, then rename it over `path`; the
        temporary file is removed on failure. Object store: serialize in memory, then one PUT.
        """
        if not self.is_local:
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
            if self.is_file(temporary):
                self.filesystem.delete_file(temporary)


class ParquetLake:
    """Parquet datasets partitioned by symbol and trade date, plus immutable raw objects.

    `root` is a local path (made absolute; the folder is created) or a URI such as
    `s3://bucket/prefix` (anything containing "://", resolved by `FileSystem.from_uri`). On S3
    the credentials come from the standard AWS chain (environment, profile, instance role) and
    AWS_ENDPOINT_URL selects another endpoint (moto, MinIO); a URI carrying credentials is
    refused, so that they never reach configuration, logs or error messages.

    `zone_roots` maps zones of ZONES to roots of the same kinds (see the module docstring);
    a zone absent from it, or mapped to `root` itself, lives under `root`. `root` and
    `filesystem` are the curated root's, which Spark jobs are given.
    """

    def __init__(
        self,
        root: str,
        zone_roots: Mapping[str, str] | None = None,
        staging_run: str | None = None,
    ) -> None:
        curated = _Root.open(root)
        self.filesystem, self.root = curated.filesystem, curated.path
        self._curated = curated
        self._zones: dict[str, _Root] = {}
        opened = {curated.location: curated}
        for zone, zone_root in (zone_roots or {}).items():
            if zone not in ZONES:
                raise ValueError(f"unknown lake zone {zone!r}: expected one of {ZONES}")
            candidate = _Root.open(zone_root)
            self._zones[zone] = opened.setdefault(candidate.location, candidate)
        self._read_cache: OrderedDict[tuple[str, int, int, pa.Schema], pa.Table] = OrderedDict()
        if staging_run is not None:
            check_name("run id", staging_run)
        self.staging_run = staging_run

    def uri(self, path: str) -> str:
        """Human-readable location of a filesystem path of the curated root (`root`):
        `s3://bucket/key`, or the local path."""
        return self._curated.uri(path)

    def object_uri(self, key: str) -> str:
        """Human-readable location of the object at `key`, in its zone's root."""
        store = self._store(key)
        return store.uri(store.key_path(key))

    def _store(self, key: str) -> _Root:
        """The root holding `key`: its zone's, by the first path segment, else the curated."""
        return self._zones.get(key.strip("/").split("/", 1)[0], self._curated)

    def partition_path(
        self, dataset: str, trade_date: date, symbol: str | None = None, base: str | None = None
    ) -> str:
        """Filesystem path of one partition file (symbol=None for date-only datasets), under
        `base` (default: the published layout under `root`)."""
        directory = self._partition_dir(dataset, symbol, base)
        return f"{directory}/trade_date={trade_date.isoformat()}/{PART_FILE}"

    def write_partition(
        self, dataset: str, table: pa.Table, *, trade_date: date, symbol: str | None = None
    ) -> str:
        """Atomically write (or replace) one partition; returns its filesystem path (in the
        run's staging folder when the lake stages a run).

        A zero-row table is a valid partition (an explicit "no session" result). When the table
        has `trade_date` / `symbol` columns, every value must equal the partition's, else
        ValueError. Snappy-compressed.
        """
        _check_partition_content(table, trade_date, symbol)
        path = self.partition_path(dataset, trade_date, symbol, self._write_base())
        self._curated.atomic_write(
            path, lambda sink: pq.write_table(table, sink, compression=COMPRESSION)
        )
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
        The files are found by _requested_partition_files; those not in the read cache are
        fetched together, opened with the sizes it gave, so reading a file on S3 costs its GET
        requests only.
        """
        dates = sorted(set(trade_dates))
        if not dates:
            return schema.empty_table()
        found = self._requested_partition_files(dataset, symbol, dates)
        missing = [d for d in dates if d not in found]
        if missing:
            listed = ", ".join(f"({symbol}, {d.isoformat()})" for d in missing[:MAX_LISTED_MISSING])
            raise MissingPartitionsError(
                f"{len(missing)} missing partition(s) of {self.uri(self._dataset_dir(dataset))}: "
                f"{listed}{' ...' if len(missing) > MAX_LISTED_MISSING else ''}"
            )
        keys = [(found[d].path, found[d].size, found[d].mtime_ns, schema) for d in dates]
        uncached = [
            found[d] for d, key in zip(dates, keys, strict=True) if key not in self._read_cache
        ]
        fetched = self._read_files(dataset, schema, uncached)
        racy_before = time.time_ns() - RACY_SECONDS * 1_000_000_000
        tables = []
        for key in keys:
            table = fetched.get(key[0])
            if table is None:
                table = self._read_cache[key]
                self._read_cache.move_to_end(key)
            elif key[2] < racy_before:
                self._read_cache[key] = table
            tables.append(table)
        while len(self._read_cache) > MAX_CACHED_FILES:
            self._read_cache.popitem(last=False)
        return pa.concat_tables(tables)

    def _read_files(
        self, dataset: str, schema: pa.Schema, infos: list[pafs.FileInfo]
    ) -> dict[str, pa.Table]:
        """Each file's rows, columns of `schema` cast to it, by path: one dataset scan, so the
        files are fetched concurrently."""
        if not infos:
            return {}
        parquet = ds.ParquetFileFormat()
        fragments = [
            parquet.make_fragment(info.path, self.filesystem, file_size=info.size) for info in infos
        ]
        file_schema = fragments[0].physical_schema
        absent = [name for name in schema.names if name not in file_schema.names]
        if absent:
            raise ValueError(f"{self.uri(self._dataset_dir(dataset))} lacks columns {absent}")
        scanner = ds.FileSystemDataset(fragments, file_schema, parquet, self.filesystem).scanner(
            columns=schema.names
        )
        batches: dict[str, list[pa.RecordBatch]] = {info.path: [] for info in infos}
        for tagged in scanner.scan_batches():
            batches[tagged.fragment.path].append(tagged.record_batch)
        return {
            path: pa.Table.from_batches(file_batches, scanner.projected_schema).cast(schema)
            for path, file_batches in batches.items()
        }

    def existing_dates(self, dataset: str, symbol: str | None = None) -> set[date]:
        """Trade dates whose partition file exists (symbol=None for date-only datasets),
        published or staged by the lake's run."""
        return set(self._partition_files(dataset, symbol)) | set(
            self._staged_files(dataset, symbol)
        )

    def staged_dates(self, dataset: str, symbol: str | None = None) -> set[date]:
        """Trade dates whose partition the lake's run staged (empty when it stages no run)."""
        return set(self._staged_files(dataset, symbol))

    def _requested_partition_files(
        self, dataset: str, symbol: str | None, dates: list[date]
    ) -> dict[date, pafs.FileInfo]:
        """The existing partition files of `dates` by trade date, a date staged by the lake's
        run from its staging folder (one listing of the symbol's staged folder). On an object
        store, one listing of the symbol's folder (ListObjectsV2 pages of 1,000 keys instead of
        one HEAD per date); on a local disk, one stat per date (cheaper than listing every date
        of a long history: 50 ms for 3,650 dates)."""
        staged = self._staged_files(dataset, symbol)
        if not self._curated.is_local:
            return {**self._partition_files(dataset, symbol), **staged}
        wanted = [d for d in dates if d not in staged]
        paths = [self.partition_path(dataset, d, symbol) for d in wanted]
        published = {
            d: info
            for d, info in zip(wanted, self.filesystem.get_file_info(paths), strict=True)
            if info.type == pafs.FileType.File
        }
        return {**published, **staged}

    def _staged_files(self, dataset: str, symbol: str | None) -> dict[date, pafs.FileInfo]:
        """The partition files the lake's run staged (none when it stages no run)."""
        if self.staging_run is None:
            return {}
        return self._partition_files(dataset, symbol, self._staging_base(self.staging_run))

    def _partition_files(
        self, dataset: str, symbol: str | None, root: str | None = None
    ) -> dict[date, pafs.FileInfo]:
        """The partition files of a dataset's symbol (or of a date-only dataset) by trade date,
        from one recursive listing of its folder under `root` (default: the published one)."""
        base = self._partition_dir(dataset, symbol, root)
        selector = pafs.FileSelector(base, allow_not_found=True, recursive=True)
        found = {}
        for info in self.filesystem.get_file_info(selector):
            match = _PARTITION_FILE.fullmatch(info.path[len(base) + 1 :])
            if match and info.type == pafs.FileType.File:
                found[date.fromisoformat(match.group(1))] = info
        return found

    def put_object(self, key: str, content: bytes) -> bool:
        """Write an immutable raw object atomically if absent.

        Returns True if written, False if identical bytes were already there; raises
        ImmutableObjectError if different bytes exist. Check-then-write: concurrent writers of
        one key must write identical bytes (true for content fetched once per key).
        """
        store = self._store(key)
        path = store.key_path(key)
        if store.is_file(path):
            if store.read(path) == content:
                return False
            raise ImmutableObjectError(f"{store.uri(path)} already exists with different content")
        store.atomic_write(path, lambda sink: sink.write(content))
        return True

    def get_object(self, key: str) -> bytes:
        """Bytes of a raw object; FileNotFoundError if absent."""
        store = self._store(key)
        return store.read(store.key_path(key))

    def list_objects(self, prefix: str) -> list[str]:
        """Sorted keys (relative to the root) of all files under the folder `prefix`."""
        return [info.key for info in self.list_object_infos(prefix)]

    def list_object_infos(self, prefix: str, *, temporary: bool = False) -> list[ObjectInfo]:
        """Every object under the folder `prefix`, sorted by key; temporary files (a segment
        starting with "." or "_tmp") are skipped unless `temporary`.

        One recursive listing scoped to the prefix (on S3: ListObjectsV2 with that prefix), in
        the root of the prefix's zone (the empty prefix lists the curated root). On a local
        lake symbolic links are listed, never followed (kind "symlink"), as are FIFOs, sockets
        and devices (kind "special"); an object store has neither.
        """
        store = self._store(prefix)
        base = f"{store.path}/{prefix.strip('/')}".rstrip("/")
        return sorted(
            (
                info
                for info in store.list_infos(base)
                if temporary or not is_temporary_key(info.key)
            ),
            key=lambda i: i.key,
        )

    def has_object(self, key: str) -> bool:
        """Whether an object exists at `key`."""
        store = self._store(key)
        return store.is_file(store.key_path(key))

    def object_info(self, key: str) -> ObjectInfo:
        """Key, last-modified time, size and kind of one object (on a local lake from its
        lstat: a symbolic link is described, not followed); FileNotFoundError if absent."""
        store = self._store(key)
        path = store.key_path(key)
        if store.is_local:
            try:
                return store.local_info(path, os.lstat(path))
            except FileNotFoundError:
                raise FileNotFoundError(f"no object at {path}") from None
        info = store.filesystem.get_file_info(path)
        if info.type != pafs.FileType.File:
            raise FileNotFoundError(f"no object at {store.uri(info.path)}")
        return store.object_info(info)

    def object_etag(self, key: str) -> str:
        """The object's version tag: its S3 ETag (one HEAD request), or on a local lake the MD5
        of its bytes (what S3 reports for a single-part upload), read in chunks of CHUNK_BYTES
        and never through a symbolic link. FileNotFoundError if absent."""
        store = self._store(key)
        with store.open_no_follow(store.key_path(key)) as stream:
            if not store.is_local:
                return stream.metadata()["ETag"].decode().strip('"')
            digest = hashlib.md5(usedforsecurity=False)
            while chunk := stream.read(CHUNK_BYTES):
                digest.update(chunk)
            return digest.hexdigest()

    def read_object(self, key: str, max_bytes: int) -> bytes:
        """Bytes of an object of at most `max_bytes`: at most `max_bytes` + 1 bytes are read,
        and ObjectTooLargeError is raised when there are more. On a local lake a symbolic link
        or special file is refused (OSError), never followed. FileNotFoundError if absent."""
        store = self._store(key)
        with store.open_no_follow(store.key_path(key)) as stream:
            content = stream.read(max_bytes + 1)
        if len(content) > max_bytes:
            raise ObjectTooLargeError(f"{key} holds more than {max_bytes} bytes")
        return content

    def replace_object(self, key: str, content: bytes) -> None:
        """Write an object atomically, replacing any previous bytes (not for raw payloads)."""
        store = self._store(key)
        store.atomic_write(store.key_path(key), lambda sink: sink.write(content))

    def move_object(self, key: str, new_key: str) -> None:
        """Move an object to `new_key`, replacing what is there.

        Within one root: the filesystem's move (S3: copy, then delete; local: a rename, which
        moves a symbolic link itself, never its target). Across roots (zones in different
        buckets): the bytes are written at `new_key` first and the source deleted only once
        that write succeeded, so a failure leaves the object in place (or in both places),
        never in neither.
        """
        source, target = self._store(key), self._store(new_key)
        source_path, target_path = source.key_path(key), target.key_path(new_key)
        if source is target:
            if source.is_local:
                source.filesystem.create_dir(target_path.rsplit("/", 1)[0], recursive=True)
            source.filesystem.move(source_path, target_path)
            return
        content = source.read(source_path)
        target.atomic_write(target_path, lambda sink: sink.write(content))
        source.filesystem.delete_file(source_path)

    def _dataset_dir(self, dataset: str, base: str | None = None) -> str:
        check_name("dataset", dataset)
        return f"{base or self.root}/{dataset}"

    def _partition_dir(self, dataset: str, symbol: str | None, base: str | None = None) -> str:
        if symbol is None:
            return self._dataset_dir(dataset, base)
        check_name("symbol", symbol)
        return f"{self._dataset_dir(dataset, base)}/symbol={symbol}"

    def _staging_base(self, run_id: str) -> str:
        check_name("run id", run_id)
        return f"{self.root}/{STAGING_DIR}/{run_id}"

    def _write_base(self) -> str | None:
        """Where write_partition writes: the run's staging folder, or the published layout."""
        return None if self.staging_run is None else self._staging_base(self.staging_run)

    def open_staging(self, run_id: str) -> None:
        """Create the run's staging folder (with no files yet), so that a run which crashes
        before writing anything is still found by `staged_runs`."""
        self._curated.atomic_write(f"{self._staging_base(run_id)}/_STARTED", lambda sink: None)

    def staged_runs(self) -> dict[str, bool]:
        """Every run with a staging folder: whether it was committed."""
        selector = pafs.FileSelector(f"{self.root}/{STAGING_DIR}", allow_not_found=True)
        runs = [
            info.base_name
            for info in self.filesystem.get_file_info(selector)
            if info.type == pafs.FileType.Directory
        ]
        return {run: self._is_committed(run) for run in sorted(runs)}

    def _is_committed(self, run_id: str) -> bool:
        return self._curated.is_file(f"{self._staging_base(run_id)}/{COMMITTED_MARKER}")

    def commit_staged(self, run_id: str) -> None:
        """Mark the run's staging as committed: from now on it is published, never discarded
        (a publication interrupted by a crash is finished by `publish_staged` later)."""
        self._curated.atomic_write(
            f"{self._staging_base(run_id)}/{COMMITTED_MARKER}", lambda sink: None
        )

    def publish_staged(self, run_id: str) -> int:
        """Move every partition file the committed run staged over its published path, then
        remove the staging folder; returns the files moved. Idempotent: a second call after an
        interrupted one moves the rest. ValueError if the run was not committed."""
        base = self._staging_base(run_id)
        if not self._is_committed(run_id):
            raise ValueError(f"run {run_id}'s staging is not committed: not published")
        selector = pafs.FileSelector(base, allow_not_found=True, recursive=True)
        staged = [
            info.path
            for info in self.filesystem.get_file_info(selector)
            if info.type == pafs.FileType.File
            and (_PARTITION_FILE.search(info.path) or _YEAR_FILE.search(info.path))
        ]
        for path in staged:
            target = f"{self.root}{path[len(base) :]}"
            folder = target.rsplit("/", 1)[0]
            if _YEAR_FILE.search(path):
                self._delete_files(folder)
            if self._curated.is_local:
                self.filesystem.create_dir(folder, recursive=True)
            self.filesystem.move(path, target)
        self.filesystem.delete_dir(base)
        return len(staged)

    def _delete_files(self, folder: str) -> None:
        """Delete the files directly in `folder` (temporary ones too: a publication replaces
        the folder's content)."""
        selector = pafs.FileSelector(folder, allow_not_found=True)
        for info in self.filesystem.get_file_info(selector):
            if info.type == pafs.FileType.File:
                self.filesystem.delete_file(info.path)

    def discard_staged(self, run_id: str) -> None:
        """Remove the run's staging folder and everything in it (nothing is published)."""
        base = self._staging_base(run_id)
        if self.filesystem.get_file_info(base).type == pafs.FileType.Directory:
            self.filesystem.delete_dir(base)
