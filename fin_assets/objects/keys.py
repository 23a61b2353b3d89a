"""Rules for object keys and the names that form them.

A key is a relative path (`landing/AAPL/2025-01-02/x.csv`): no segment is empty, "." or "..".
A segment starting with "." or "_tmp" is a temporary name: a file its writer has not renamed
yet (the lake's atomic writes, its run staging); every reader and listing skips it. A name
forming a key (symbol, dataset, run id) is letters, digits, '_', '.', '-', starting with a
letter or digit.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


def is_temporary_name(name: str) -> bool:
    """Temporary files start with "." or "_tmp"; every reader and listing skips them."""
    return name.startswith((".", "_tmp")) and name not in (".", "..")


def is_unaddressable_key(key: str) -> bool:
    """Whether `key` has an empty, "." or ".." segment: S3 accepts such keys, but pyarrow's
    filesystems refuse the first and resolve the others, so the lake cannot read or move them."""
    return any(part in ("", ".", "..") for part in key.split("/"))


def is_temporary_key(key: str) -> bool:
    """Whether a segment of `key` is a temporary name (starts with "." or "_tmp")."""
    return any(is_temporary_name(part) for part in key.split("/"))


def check_key(key: str) -> None:
    """ValueError unless `key` is addressable and has no temporary segment."""
    if is_unaddressable_key(key):
        raise ValueError(f"invalid object key {key!r}: must be a relative path like 'a/b.json'")
    if is_temporary_key(key):
        raise ValueError(f"invalid object key {key!r}: no part may start with '.' or '_tmp'")


def check_name(kind: str, value: str) -> None:
    """A name forming a lake key (symbol, dataset): letters, digits, '_', '.', '-', starting
    with a letter or digit; ValueError otherwise."""
    if not _NAME.fullmatch(value):
        raise ValueError(f"invalid {kind} {value!r}: use letters, digits, '_', '.', '-'")
