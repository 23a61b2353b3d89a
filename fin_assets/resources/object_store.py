"""Objects by key over `pyarrow.fs`: the same code stores in a local folder or an object store.

Keys follow fin_assets.objects.keys: relative paths, no temporary segment when written.

Zones: an object key's first path segment names its zone. The zones in ZONES (`landing`,
`quarantine`, `raw`) may live under roots of their own (`zone_roots`: e.g. one bucket each),
keeping their keys: a zone root holds exactly the keys the single store would, so
`landing/AAPL/2025-01-02/x.csv` with the landing zone at `s3://landing-bucket` is the object
`s3://landing-bucket/landing/AAPL/2025-01-02/x.csv`. Every other key lives under `root` (the
curated zone). Without `zone_roots` everything lives under `root`.

Every write is atomic. On a local filesystem the bytes go to a temporary file in the target
directory (name starting with ".", so listings and readers ignore it) that is then renamed over
the final path (`os.replace` semantics). On an object store a single PUT is already atomic, so
the final key is written directly. On a local store a symbolic link is listed and described,
never followed.

The partitioned Parquet lake (fin_assets.resources.lake.ParquetLake) is built on this store.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.fs as pafs

from fin_assets.objects.keys import check_key, is_temporary_key
from fin_assets.objects.store import ImmutableObjectError, ObjectInfo, ObjectTooLargeError

# Bytes per read when an object is streamed (hashing, bounded reads, moves across roots).
CHUNK_BYTES = 1 << 20
# Key prefixes (first path segments) that may live under their own root (see the module doc).
ZONES = ("landing", "quarantine", "raw")
_URI_CREDENTIALS = re.compile(
    r"^[a-z0-9+.-]+://[^/?#]*@|[?&](access_key|secret_key|session_token)="
)


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
        check_key(key)
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


class ArrowObjectStore:
    """Immutable raw objects and replaceable ones, by key, in one or several roots.

    `root` is a local path (made absolute; the folder is created) or a URI such as
    `s3://bucket/prefix` (anything containing "://", resolved by `FileSystem.from_uri`). On S3
    the credentials come from the standard AWS chain (environment, profile, instance role) and
    AWS_ENDPOINT_URL selects another endpoint (moto, MinIO); a URI carrying credentials is
    refused, so that they never reach configuration, logs or error messages.

    `zone_roots` maps zones of ZONES to roots of the same kinds (see the module docstring);
    a zone absent from it, or mapped to `root` itself, lives under `root`. `root` and
    `filesystem` are the curated root's.
    """

    def __init__(self, root: str, zone_roots: Mapping[str, str] | None = None) -> None:
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
