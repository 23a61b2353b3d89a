"""A folder on the local disk holding copies of an object-store lake's partition files.

Every run worker is a new process, so the lake's in-memory read cache (ParquetLake) starts
empty in each run: a landing run fetched every symbol's whole daily history from the object
store again (two requests a file: 700 for 10 symbols × 35 days, growing with the history). The
processes of one host (run workers, the code server's sensors) share this folder instead.

A copy is named by the SHA-256 of the file's path, size and modification time (nanoseconds),
as the reader's fresh listing gives them, so a rewritten file is never served from an older
copy: its listing gives another size or time. The caller only stores files modified long
enough ago (ParquetLake.RACY_SECONDS: a rewrite in the same second with the same size would
look unchanged). Copies are written to a temporary name and renamed, so processes storing the
same file at once leave one whole copy, and a reader never sees half of one.

The folder keeps at most `max_bytes`, give or take a tenth: a store sweeps the folder with a
chance proportional to its size, so that the processes sharing it (each run worker is a new
one) sweep once per tenth of `max_bytes` stored, on average, whoever stores it. A sweep removes
the least recently used copies (a hit refreshes a copy's modification time) until the folder
holds at most four fifths of `max_bytes`. A copy removed between a reader's look
and its read is a miss, fetched again; so is every file when the folder cannot be read or
written (a read-only disk): the cache never fails a read.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import uuid
from pathlib import Path

import pyarrow.fs as pafs

_SWEEP_FRACTION = 10
_KEEP_AFTER_SWEEP = 0.8


class LakeFileCache:
    """Copies of lake files under `directory` (module docstring)."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes

    def copy_path(self, info: pafs.FileInfo) -> Path:
        """Where the copy of the file version `info` (path, size, mtime) lives."""
        version = f"{info.path}\0{info.size}\0{info.mtime_ns}".encode()
        digest = hashlib.sha256(version).hexdigest()
        return self.directory / digest[:2] / f"{digest[2:]}.parquet"

    def get(self, info: pafs.FileInfo) -> bytes | None:
        """The bytes of the file version `info`, None when the folder has no copy of it."""
        path = self.copy_path(info)
        try:
            data = path.read_bytes()
            os.utime(path)
        except OSError:
            return None
        return data if len(data) == info.size else None

    def put(self, info: pafs.FileInfo, data: bytes) -> None:
        """Store `data` as the copy of the file version `info`; a folder that cannot be
        written (a full or read-only disk) stores nothing."""
        path = self.copy_path(info)
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(data)
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink()
            return
        if random.random() * self.max_bytes < len(data) * _SWEEP_FRACTION:
            self.sweep()

    def sweep(self) -> None:
        """Remove the least recently used copies while the folder holds more than `max_bytes`
        (down to four fifths of it); a temporary file a crash left behind ages out with them."""
        copies = []
        for entry in self.directory.glob("*/*"):
            try:
                status = entry.stat()
            except FileNotFoundError:
                continue
            copies.append((status.st_mtime_ns, status.st_size, entry))
        total = sum(size for _, size, _ in copies)
        if total <= self.max_bytes:
            return
        for _, size, entry in sorted(copies):
            if total <= self.max_bytes * _KEEP_AFTER_SWEEP:
                break
            entry.unlink(missing_ok=True)
            total -= size
