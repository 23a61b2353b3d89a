"""Landing file content: CSV, JSON or Parquet one-minute bars of one symbol.

Columns are exactly `ts, open, high, low, close, volume` (any order). `ts` is the bar open in
UTC: ISO-8601 text with an explicit offset (`2025-01-02T14:30:00Z`, `...+00:00`) or integer
epoch milliseconds; Parquet may also use a timestamp column with time zone UTC. The other
columns are numbers. CSV: a header line, then one bar per line (blank lines are ignored, every
line needs all six fields). JSON: a list of row objects. Anything else raises
LandingContractError listing the problems (at most MAX_LISTED of each kind), naming each bad row
by its `ts` as the file gives it (`ts 2025-01-02T14:30:00Z`), never by a row number.

`LandingRows.encode(positions)` gives a subset of the rows in the file's own format with the
rows unchanged: the original CSV lines, the original JSON objects, the Parquet rows with their
types. That is how a date-range file is split into one raw payload per trade date.

`max_rows` (landing/limits.py) is checked before any row is decoded: Parquet by the footer's row
count, CSV by counting non-blank lines (and its field separators: six fields a line), JSON by
counting `{` and `,` (a row object has six values): so the memory a file takes is bounded by
its bytes and that limit, whatever it holds.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fin_assets.analytics import quality
from fin_assets.analytics.bars import RAW_COLUMNS, VALUE_COLUMNS
from fin_assets.landing.contract import LandingContractError
from fin_assets.objects.store import COMPRESSION

MAX_LISTED = 5
UTC_ZONES = ("UTC", "Etc/UTC", "+00:00", "Z")
_ISO_WITH_OFFSET = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})"
)
_INTEGER = re.compile(r"-?\d+")
# A non-blank line, as str.splitlines() splits lines: its first non-space character onwards.
_NON_BLANK_LINE = re.compile(r"\S[^\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]*")


@dataclass(frozen=True, eq=False)
class LandingRows:
    """A parsed landing file: `bars` (ts datetime64[us, UTC], float64 values, one row per file
    row in file order, RangeIndex) and `encode`, which writes chosen rows in the file's format."""

    bars: pd.DataFrame
    encode: Callable[[Sequence[int]], bytes]


def parse_landing_file(
    content: bytes, file_format: str, max_rows: int | None = None
) -> LandingRows:
    """Parse a landing file of format csv, json or parquet (see the module docstring); a file
    of more than `max_rows` rows (None: no limit) is refused before its rows are decoded."""
    parsers = {"csv": _parse_csv, "json": _parse_json, "parquet": _parse_parquet}
    if file_format not in parsers:
        raise ValueError(f"unknown landing format {file_format!r}")
    return parsers[file_format](content, max_rows)


def _too_many_rows(found: str, max_rows: int) -> LandingContractError:
    return LandingContractError(
        [f"the file holds {found} rows, more than the limit of {max_rows:,} (FIN_LANDING_MAX_ROWS)"]
    )


def _check_columns(columns: Sequence[str]) -> None:
    problems = quality.column_set_problems(list(columns), RAW_COLUMNS)
    if problems:
        raise LandingContractError(
            [f"columns must be exactly {list(RAW_COLUMNS)}: " + ", ".join(problems)]
        )


def listed(items: Sequence[object]) -> str:
    """The first MAX_LISTED items, comma-separated, with " ..." when there are more."""
    shown = ", ".join(str(item) for item in items[:MAX_LISTED])
    return shown + (" ..." if len(items) > MAX_LISTED else "")


def _text_timestamps(values: Sequence[object]) -> pd.Series:
    """ts values given as text (ISO-8601 with offset, or epoch ms digits) or integers."""
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return _epoch_ms(values)
    if not all(isinstance(v, str) for v in values):
        raise LandingContractError(["ts values must all be text or all be integer epoch ms"])
    if all(_INTEGER.fullmatch(v) for v in values):
        return _epoch_ms([int(v) for v in values])
    bad = [repr(v) for v in values if not _ISO_WITH_OFFSET.fullmatch(v)]
    if bad:
        raise LandingContractError(
            [f"ts must be ISO-8601 with a UTC offset or epoch ms; bad values: {listed(bad)}"]
        )
    try:
        parsed = pd.to_datetime(pd.Series(values), format="ISO8601", utc=True)
    except ValueError as error:
        raise LandingContractError([f"ts has values that are not valid times: {error}"]) from None
    return parsed.dt.as_unit("us")


def _epoch_ms(values: Sequence[int] | np.ndarray) -> pd.Series:
    """Epoch milliseconds as UTC times; LandingContractError when out of range."""
    try:
        times = pd.to_datetime(np.asarray(values, dtype=np.int64), unit="ms", utc=True)
    except (OverflowError, ValueError) as error:
        raise LandingContractError([f"ts has epoch ms values out of range: {error}"]) from None
    return pd.Series(times).dt.as_unit("us")


def row_name(ts: object) -> str:
    """How a problem names a row: by its ts as given in the file."""
    return f"ts {ts}"


def _numbers(column: str, values: Sequence[object], ts: Sequence[object]) -> np.ndarray:
    """Numbers given as JSON numbers or as CSV text; booleans and other text are rejected
    (the bad rows named by `ts`)."""
    parsed = np.empty(len(values), dtype=np.float64)
    bad = []
    for i, value in enumerate(values):
        if isinstance(value, bool):
            bad.append(f"{row_name(ts[i])} {value!r}")
        elif isinstance(value, int | float):
            parsed[i] = value
        else:
            try:
                parsed[i] = float(value)
            except (TypeError, ValueError):
                bad.append(f"{row_name(ts[i])} {value!r}")
    if bad:
        raise LandingContractError([f"{column} has values that are not numbers: {listed(bad)}"])
    return parsed


def _bars_from_values(columns: dict[str, Sequence[object]]) -> pd.DataFrame:
    """The bars frame of row values by column, every problem of every column reported."""
    problems: list[str] = []
    frame = pd.DataFrame(index=pd.RangeIndex(len(columns["ts"])))
    try:
        frame["ts"] = _text_timestamps(columns["ts"])
    except LandingContractError as error:
        problems += error.problems
    for column in VALUE_COLUMNS:
        try:
            frame[column] = _numbers(column, columns[column], columns["ts"])
        except LandingContractError as error:
            problems += error.problems
    if problems:
        raise LandingContractError(problems)
    return frame[list(RAW_COLUMNS)]


def _parse_csv(content: bytes, max_rows: int | None) -> LandingRows:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LandingContractError([f"CSV is not UTF-8: {error}"]) from None
    if max_rows is not None:
        counted = sum(1 for _ in itertools.islice(_NON_BLANK_LINE.finditer(text), max_rows + 2))
        if counted > max_rows + 1:
            raise _too_many_rows("at least " + f"{max_rows + 1:,}", max_rows)
        if text.count(",") > (len(RAW_COLUMNS) - 1) * counted:
            raise LandingContractError(
                [f"every CSV row needs {len(RAW_COLUMNS)} fields: the file has more separators"]
            )
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise LandingContractError(["CSV is empty: it needs a header line"])
    header = next(csv.reader([lines[0]]))
    _check_columns(header)
    records = [next(csv.reader([line])) for line in lines[1:]]
    at = header.index("ts")
    short = [
        f"{row_name(r[at] if len(r) > at else '?')} has {len(r)}"
        for r in records
        if len(r) != len(header)
    ]
    if short:
        raise LandingContractError(
            [f"every CSV row needs {len(header)} fields (truncated file?): {listed(short)}"]
        )
    columns = {name: [r[i] for r in records] for i, name in enumerate(header)}

    def encode(positions: Sequence[int]) -> bytes:
        return "\n".join([lines[0], *(lines[p + 1] for p in positions), ""]).encode("utf-8")

    return LandingRows(_bars_from_values(columns), encode)


def _parse_json(content: bytes, max_rows: int | None) -> LandingRows:
    if max_rows is not None:
        objects = content.count(b"{")
        values = content.count(b",") + 1
        if objects > max_rows or values > len(RAW_COLUMNS) * max_rows:
            found = f"{max(objects, values // len(RAW_COLUMNS)):,}"
            raise _too_many_rows(f"up to {found}", max_rows)
    try:
        rows = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LandingContractError([f"not valid UTF-8 JSON (truncated file?): {error}"]) from None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise LandingContractError(["JSON must be a list of row objects"])
    names = sorted({name for row in rows for name in row})
    _check_columns(names or list(RAW_COLUMNS))
    incomplete = [row_name(row.get("ts", "?")) for row in rows if len(row) != len(RAW_COLUMNS)]
    if incomplete:
        raise LandingContractError([f"rows without all six columns: {listed(incomplete)}"])
    columns = {name: [row[name] for row in rows] for name in RAW_COLUMNS}

    def encode(positions: Sequence[int]) -> bytes:
        return json.dumps([rows[p] for p in positions]).encode("utf-8")

    return LandingRows(_bars_from_values(columns), encode)


def _parse_parquet(content: bytes, max_rows: int | None) -> LandingRows:
    try:
        parquet = pq.ParquetFile(pa.BufferReader(content))
    except (pa.ArrowInvalid, OSError) as error:
        raise LandingContractError([f"not a readable Parquet file (truncated?): {error}"]) from None
    schema = parquet.schema_arrow
    _check_columns(schema.names)
    if max_rows is not None and parquet.metadata.num_rows > max_rows:
        raise _too_many_rows(f"{parquet.metadata.num_rows:,}", max_rows)
    ts_type = schema.field("ts").type
    utc_timestamps = pa.types.is_timestamp(ts_type) and ts_type.tz in UTC_ZONES
    problems = []
    if not (utc_timestamps or pa.types.is_int64(ts_type)):
        problems.append(f"ts must be timestamp with time zone UTC or int64 epoch ms, not {ts_type}")
    for name in VALUE_COLUMNS:
        kind = schema.field(name).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            problems.append(f"{name} must be numeric, not {kind}")
    if problems:
        raise LandingContractError(problems)
    try:
        table = parquet.read()
    except (pa.ArrowInvalid, OSError) as error:
        raise LandingContractError([f"not a readable Parquet file (truncated?): {error}"]) from None
    nulls = [
        f"{name} has {table[name].null_count} nulls"
        for name in RAW_COLUMNS
        if table[name].null_count
    ]
    if nulls:
        raise LandingContractError(nulls)
    if utc_timestamps:
        ts = table["ts"].to_pandas().dt.tz_convert("UTC").dt.as_unit("us")
    else:
        ts = _epoch_ms(table["ts"].to_numpy(zero_copy_only=False))
    frame = pd.DataFrame({"ts": ts})
    for name in VALUE_COLUMNS:
        frame[name] = table[name].to_numpy(zero_copy_only=False).astype(np.float64)

    def encode(positions: Sequence[int]) -> bytes:
        sink = pa.BufferOutputStream()
        pq.write_table(table.take(pa.array(positions, pa.int64())), sink, compression=COMPRESSION)
        return sink.getvalue().to_pybytes()

    return LandingRows(frame, encode)
