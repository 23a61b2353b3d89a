"""Parquet datasets partitioned by symbol and trade date, on the object store
(fin_assets.resources.object_store: roots, zones, atomic writes, raw objects).

Layout (hive style, readable by DuckDB and Spark):

- per-symbol datasets: `{root}/{dataset}/symbol={SYMBOL}/trade_date={YYYY-MM-DD}/part-0.parquet`
- date-only datasets:  `{root}/{dataset}/trade_date={YYYY-MM-DD}/part-0.parquet`
- raw objects:         `{root}/{key}` (or their zone's root), immutable once written

Datasets live under the curated `root`; every partition write is atomic (the store's).

Reads are cached: a ParquetLake keeps the partition files it has read (decoded, per requested
schema), keyed by (path, size, modification time), so a run whose steps read the same history
(indicators, anomalies and risk each read every symbol's daily bars) fetches each file once.
A rewritten file is read again: its listing or stat gives another size or time. A file
modified in the last RACY_SECONDS is never cached ("racily clean", as git calls it): S3 keeps
modification times to the second, so a rewrite in the same second with the same size would
look unchanged. Resources hold one lake per run (fin_assets.resources.storage), so the cache
lives as long as the run; it keeps at most MAX_CACHED_FILES files, least recently used first out.
Threads may read through one lake at once (the cache is locked). A lake on an object store
may also have a file cache (fin_assets.resources.lake_file_cache): copies of the files on the
local disk, shared by the processes of the host and keyed the same way, so a run reads from the
store only the files that are new or changed since a run before it read them. Such a lake,
staging a run, also keeps the bytes of the partition files it wrote (MAX_STAGED_WRITE_BYTES at
most) and reads them back from memory while the file still has their size: only the run writes
its staging, and a run's steps in other processes (step pods) have their own lakes.

Staging (write-audit-publish for a run, docs/reliability.md): a lake opened with
`staging_run` writes its partitions under `{root}/_tmp_staging/{run id}/` (the same relative
layout), and reads each partition from there when the run staged it, else from the published
layout: the run's steps see what the run wrote, other readers see nothing of it. The staging
folder is temporary by name (listings skip it). `commit_staged` marks a run's staging as
decided, `publish_staged` moves each staged file over its published path (one atomic rename
per file locally; on S3 all copies at once, then the folder deleted in batches);
`discard_staged` removes the folder.
A staged `year=YYYY/part-0.parquet` (a compacted copy's symbol-year) replaces every file of its
published folder.
`staged_runs` lists the runs with a staging folder and whether each was committed.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from fin_assets.objects.keys import check_name
from fin_assets.objects.store import COMPRESSION
from fin_assets.resources.lake_file_cache import LakeFileCache
from fin_assets.resources.object_store import ArrowObjectStore

PART_FILE = "part-0.parquet"
MAX_LISTED_MISSING = 10
# The read cache (module docstring): files modified less than RACY_SECONDS ago are not cached
# (S3's one-second modification times, and a second for the clocks of the store and this host).
RACY_SECONDS = 2
MAX_CACHED_FILES = 50_000
# The bytes of the files a staging lake on an object store wrote, kept to read them back
# (module docstring).
MAX_STAGED_WRITE_BYTES = 64 << 20
# Files a lake with a file cache fetches, and a publication copies, at once on an object store
# (each request waits on a round trip).
FETCH_THREADS = 16
# Run-scoped staging folder under the curated root (a temporary name: listings skip it).
STAGING_DIR = "_tmp_staging"
COMMITTED_MARKER = "_COMMITTED"
_PARTITION_FILE = re.compile(rf"trade_date=(\d{{4}}-\d{{2}}-\d{{2}})/{re.escape(PART_FILE)}")
# A compacted copy's symbol-year file (spark_resources.compaction_job): published, it replaces
# every file of its folder.
_YEAR_FILE = re.compile(rf"/year=\d{{4}}/{re.escape(PART_FILE)}$")


class MissingPartitionsError(ValueError):
    """Some requested lake partitions do not exist."""


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


class ParquetLake(ArrowObjectStore):
    """Parquet datasets partitioned by symbol and trade date, in the curated root of the object
    store it extends (roots, zones and credentials: ArrowObjectStore), with a read cache and
    run staging (module docstring). `root` and `filesystem` are the curated root's, which
    Spark jobs are given.
    """

    def __init__(
        self,
        root: str,
        zone_roots: Mapping[str, str] | None = None,
        staging_run: str | None = None,
        file_cache: LakeFileCache | None = None,
    ) -> None:
        super().__init__(root, zone_roots)
        self._file_cache = file_cache
        self._staged_writes: OrderedDict[str, pa.Buffer] = OrderedDict()
        self._staged_write_bytes = 0
        self._read_cache: OrderedDict[tuple[str, int, int, pa.Schema], pa.Table] = OrderedDict()
        self._cache_lock = threading.Lock()
        if staging_run is not None:
            check_name("run id", staging_run)
        self.staging_run = staging_run

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
        if self.staging_run is None or not self._reads_bytes:
            self._curated.atomic_write(
                path, lambda sink: pq.write_table(table, sink, compression=COMPRESSION)
            )
            return path
        buffer = pa.BufferOutputStream()
        pq.write_table(table, buffer, compression=COMPRESSION)
        data = buffer.getvalue()
        self._curated.atomic_write(path, lambda sink: sink.write(data))
        self._remember_staged_write(path, data)
        return path

    @property
    def _reads_bytes(self) -> bool:
        """Whether the lake reads whole files as bytes: on an object store, with a file cache
        (else one dataset scan reads them: _read_files)."""
        return self._file_cache is not None and not self._curated.is_local

    def _remember_staged_write(self, path: str, data: pa.Buffer) -> None:
        """Keep the bytes of a file the lake staged (module docstring), MAX_STAGED_WRITE_BYTES
        at most, the oldest out first."""
        with self._cache_lock:
            previous = self._staged_writes.pop(path, None)
            self._staged_write_bytes += data.size - (previous.size if previous else 0)
            self._staged_writes[path] = data
            while self._staged_write_bytes > MAX_STAGED_WRITE_BYTES:
                _, dropped = self._staged_writes.popitem(last=False)
                self._staged_write_bytes -= dropped.size

    def _staged_write(self, info: pafs.FileInfo) -> pa.Buffer | None:
        """The bytes this lake staged at `info.path`, if it did and the file still has their
        size."""
        with self._cache_lock:
            data = self._staged_writes.get(info.path)
        return data if data is not None and data.size == info.size else None

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
        with self._cache_lock:
            cached = {key: self._read_cache[key] for key in keys if key in self._read_cache}
            for key in cached:
                self._read_cache.move_to_end(key)
        uncached = [found[d] for d, key in zip(dates, keys, strict=True) if key not in cached]
        fetched = self._read_files(dataset, schema, uncached)
        racy_before = time.time_ns() - RACY_SECONDS * 1_000_000_000
        tables = [cached[key] if key in cached else fetched[key[0]] for key in keys]
        with self._cache_lock:
            for key in keys:
                if key not in cached and key[2] < racy_before:
                    self._read_cache[key] = fetched[key[0]]
            while len(self._read_cache) > MAX_CACHED_FILES:
                self._read_cache.popitem(last=False)
        return pa.concat_tables(tables)

    def _read_files(
        self, dataset: str, schema: pa.Schema, infos: list[pafs.FileInfo]
    ) -> dict[str, pa.Table]:
        """Each file's rows, columns of `schema` cast to it, by path: from the file cache's
        copies and the files it lacks, fetched FETCH_THREADS at once, when the lake has one on
        an object store; else one dataset scan, so the files are fetched concurrently."""
        if not infos:
            return {}
        if self._file_cache is None or not self._reads_bytes:
            return self._scan_files(dataset, schema, infos)
        contents = self._file_contents(self._file_cache, infos)
        return {
            path: self._decoded(dataset, schema, pq.ParquetFile(pa.BufferReader(data)))
            for path, data in contents.items()
        }

    def _file_contents(
        self, cache: LakeFileCache, infos: list[pafs.FileInfo]
    ) -> dict[str, bytes | pa.Buffer]:
        """The bytes of each file by path: those this lake staged, the cache's copy, else
        fetched and copied there unless modified in the last RACY_SECONDS (or changed since it
        was listed)."""
        contents: dict[str, bytes | pa.Buffer] = {}
        missing = []
        for info in infos:
            staged = self._staged_write(info)
            data = staged if staged is not None else cache.get(info)
            if data is None:
                missing.append(info)
            else:
                contents[info.path] = data
        racy_after = time.time_ns() - RACY_SECONDS * 1_000_000_000

        def fetch(info: pafs.FileInfo) -> bytes:
            with self.filesystem.open_input_stream(info.path) as stream:
                data = stream.read()
            if info.mtime_ns < racy_after and len(data) == info.size:
                cache.put(info, data)
            return data

        with ThreadPoolExecutor(FETCH_THREADS) as pool:
            for info, data in zip(missing, pool.map(fetch, missing), strict=True):
                contents[info.path] = data
        return contents

    def _decoded(self, dataset: str, schema: pa.Schema, file: pq.ParquetFile) -> pa.Table:
        """The columns of `schema` of one Parquet file, cast to it."""
        self._check_columns(dataset, schema, file.schema_arrow)
        return file.read(columns=schema.names).select(schema.names).cast(schema)

    def _check_columns(self, dataset: str, schema: pa.Schema, file_schema: pa.Schema) -> None:
        absent = [name for name in schema.names if name not in file_schema.names]
        if absent:
            raise ValueError(f"{self.uri(self._dataset_dir(dataset))} lacks columns {absent}")

    def _scan_files(
        self, dataset: str, schema: pa.Schema, infos: list[pafs.FileInfo]
    ) -> dict[str, pa.Table]:
        """Each file's rows, columns of `schema` cast to it, by path: one dataset scan."""
        parquet = ds.ParquetFileFormat()
        fragments = [
            parquet.make_fragment(info.path, self.filesystem, file_size=info.size) for info in infos
        ]
        file_schema = fragments[0].physical_schema
        self._check_columns(dataset, schema, file_schema)
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
        run from its staging folder (one listing of the symbol's staged folder). For the other
        dates, on an object store one listing of the symbol's folder (ListObjectsV2 pages of
        1,000 keys instead of one HEAD per date: none when the run staged every date); on a
        local disk, one stat per date (cheaper than listing every date
        of a long history: 50 ms for 3,650 dates)."""
        staged = self._staged_files(dataset, symbol)
        if not self._curated.is_local:
            if staged.keys() >= set(dates):
                return staged
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
        moves = [(path, f"{self.root}{path[len(base) :]}") for path in staged]
        for path, target in moves:
            if _YEAR_FILE.search(path):
                self._delete_files(target.rsplit("/", 1)[0])
        if self._curated.is_local:
            for path, target in moves:
                self.filesystem.create_dir(target.rsplit("/", 1)[0], recursive=True)
                self.filesystem.move(path, target)
        else:
            # A move on S3 is a copy, a delete and a folder marker: copy them all at once,
            # then delete the staging folder in batches.
            with ThreadPoolExecutor(FETCH_THREADS) as pool:
                list(pool.map(lambda move: self.filesystem.copy_file(*move), moves))
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
