"""Size limits of a landing file, checked before its content is decoded.

A file larger than `max_bytes` (its listed size) is rejected without being read, and reads are
bounded by the limit (a file that grew since its listing is refused too). A file of more than
`max_rows` rows is rejected before its rows are decoded: Parquet by the row count of its footer,
CSV by counting its non-blank lines, JSON by counting its objects' opening braces and its
commas (a row object of six keys has five). Together they bound the memory a landing file can
take in the sensor, the code server and a run (figures in docs/reliability.md).

Defaults: 32 MiB and 200,000 rows (139 days of 24/7 minutes, 513 XNYS sessions); set
FIN_LANDING_MAX_BYTES and FIN_LANDING_MAX_ROWS to change them. Split larger drops into several
files (one per date or date range).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_ROWS = 200_000


@dataclass(frozen=True)
class LandingLimits:
    """The largest landing file accepted: bytes as listed, and rows."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> LandingLimits:
        """FIN_LANDING_MAX_BYTES and FIN_LANDING_MAX_ROWS of `environ`, else the defaults."""
        limits = cls(
            max_bytes=int(environ.get("FIN_LANDING_MAX_BYTES", DEFAULT_MAX_BYTES)),
            max_rows=int(environ.get("FIN_LANDING_MAX_ROWS", DEFAULT_MAX_ROWS)),
        )
        if limits.max_bytes < 1 or limits.max_rows < 1:
            raise ValueError(f"landing limits must be positive: {limits}")
        return limits
