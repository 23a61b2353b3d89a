"""Accepting a landing file into the raw layer, or moving it to quarantine.

Accepted: the file's rows are stored as `landing` vendor payloads, one per (symbol, trade date)
at `raw/landing/symbol={SYMBOL}/trade_date={DATE}/{landed-at}-{sha256[:16]}.{ext}` (see
landing/raw_store.py). A file whose rows all fall on one trade date is stored byte for byte;
a file spanning several dates is split, each payload holding that date's rows unchanged in the
file's format (parsing.LandingRows.encode). `landed-at` is the landing object's last-modified
time, so a partition's payloads sort in landing order. Payloads are immutable and
content-addressed: ingesting the same file again stores nothing new. The landing object itself
is left in place (a bucket lifecycle rule may expire `landing/`).

Rejected: nothing is written to the raw layer (every rule is checked before the first write);
the error report is written to `quarantine/{key}/{version}.error.json` (never over an existing
object), then the file is moved to `quarantine/{key}/{version}{.ext}`, and LandingFileRejected
is raised. The object's kind, size and key are checked before a byte of it is read: a symbolic
link or special file (local lake) is quarantined as it is, never followed, and a file over the
byte limit is never read (landing/limits.py).

The bars layer reads a partition's landing payloads with `read_landing_payloads`, in landing
order, and merges them over the vendor's minute by minute (analytics.bars.merge_sources).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd

from fin_assets.analytics.bars import RAW_COLUMNS
from fin_assets.analytics.plausibility import PlausibilityRules
from fin_assets.landing.contract import (
    LANDING_VENDOR,
    MEDIA_TYPES,
    LandingContractError,
    LandingFileRejected,
    LandingKey,
    parse_landing_key,
    quarantine_keys,
    quarantine_prefix,
)
from fin_assets.landing.lake_plausibility import check_bars_plausibility
from fin_assets.landing.limits import LandingLimits
from fin_assets.landing.parsing import LandingRows, parse_landing_file
from fin_assets.landing.raw_store import RawPayload, store_payload
from fin_assets.landing.validation import trade_dates
from fin_assets.objects.keys import is_temporary_key, is_unaddressable_key
from fin_assets.objects.store import Lake, ObjectInfo, ObjectStore, ObjectTooLargeError
from fin_assets.universe import Symbol

DEFAULT_RULES = PlausibilityRules()


@dataclass(frozen=True)
class AcceptedFile:
    """What ingesting one landing file did."""

    key: LandingKey
    rows: int
    payloads_stored: int
    payloads_unchanged: int
    session_dates: tuple[date, ...]


def unreadable_reason(key: str) -> str | None:
    """Why the landing object at `key` waits without being read or quarantined, or None.

    A temporary name (a segment starting with "." or "_tmp") is a file its writer has not
    renamed yet; a key the lake's filesystem layer cannot address (an empty, "." or ".."
    segment, which S3 allows) can be neither read nor moved: an operator must move it.
    """
    if is_unaddressable_key(key):
        return (
            "the key has an empty, '.' or '..' segment: the lake cannot read or quarantine it, "
            "move it to a valid key"
        )
    if is_temporary_key(key):
        return "a temporary name (a segment starts with '.' or '_tmp'): waiting for its writer"
    return None


def object_version(lake: ObjectStore, info: ObjectInfo) -> str:
    """The version tag of a landing object: its etag (ObjectStore.object_etag); a symbolic link
    or special file, which is never read, is tagged by its kind, size and time."""
    if info.kind != "file":
        return f"{info.kind}-{info.size}-{info.last_modified.timestamp():.0f}"
    return lake.object_etag(info.key)


def quarantine(
    lake: ObjectStore, key: str, problems: Sequence[str], refused_bars: Sequence[str] = ()
) -> str:
    """Write the error report, then move the object to quarantine; returns its new key.

    Both keys are new (quarantine_keys: rejection time and version tag), and the report is
    written only where no object is, so an earlier quarantined version is never overwritten.
    The report counts (`ohlc_refused_bars`) and lists (`ohlc_refused_ts`) the file's bars
    refused by the OHLC tolerance (`refused_bars`, their ts in ISO 8601).
    """
    info = lake.object_info(key)
    rejected_at = datetime.now(UTC)
    target, report_key = quarantine_keys(key, rejected_at, object_version(lake, info))
    report = {
        "key": key,
        "rejected_at": rejected_at.isoformat(),
        "quarantined_as": target,
        "size": info.size,
        "kind": info.kind,
        "problems": list(problems),
        "ohlc_refused_bars": len(refused_bars),
        "ohlc_refused_ts": list(refused_bars),
    }
    if lake.has_object(target):
        raise FileExistsError(f"{target} already exists")
    lake.put_object(report_key, json.dumps(report, indent=2).encode("utf-8"))
    lake.move_object(key, target)
    return target


def latest_rejection(lake: ObjectStore, key: str) -> LandingFileRejected | None:
    """The newest quarantined version of `key` (its report's problems), or None."""
    reports = [k for k in lake.list_objects(quarantine_prefix(key)) if k.endswith(".error.json")]
    if not reports:
        return None
    report = json.loads(lake.get_object(max(reports)))
    return LandingFileRejected(
        key, report["problems"], report["quarantined_as"], report.get("ohlc_refused_ts", [])
    )


def _reject(
    lake: ObjectStore, key: str, problems: Sequence[str], refused_bars: Sequence[str] = ()
) -> LandingFileRejected:
    target = quarantine(lake, key, problems, refused_bars)
    return LandingFileRejected(key, problems, target, refused_bars)


def check_landing_object(
    lake: ObjectStore,
    info: ObjectInfo,
    symbols: Collection[str],
    first_date: date,
    limits: LandingLimits,
) -> LandingKey:
    """The parsed key of an object fit to be read, from its listing or `object_info`: its key
    follows the layout, it is a regular file (a symbolic link is never followed) and within the
    byte limit. Nothing of it is read; an unfit object is quarantined and LandingFileRejected
    raised (every problem listed)."""
    key = info.key
    problems = []
    try:
        landing_key = parse_landing_key(key, symbols, first_date)
    except LandingContractError as error:
        problems += error.problems
    if info.kind != "file":
        problems.append(
            f"not a regular file but a {info.kind}: it is not read, symbolic links are never "
            "followed"
        )
    elif info.size > limits.max_bytes:
        problems.append(
            f"the file is {info.size:,} bytes, more than the limit of {limits.max_bytes:,} "
            "(FIN_LANDING_MAX_BYTES)"
        )
    if problems:
        raise _reject(lake, key, problems)
    return landing_key


@dataclass(frozen=True)
class ValidLandingFile:
    """A landing file that keeps the contract: its parsed rows and each row's trade date."""

    key: LandingKey
    content: bytes
    rows: LandingRows
    dates: pd.Series
    landed_at: datetime


def validate_landing_file(
    lake: Lake,
    key: str,
    universe: Mapping[str, Symbol],
    first_date: date,
    limits: LandingLimits,
    rules: PlausibilityRules = DEFAULT_RULES,
) -> ValidLandingFile:
    """The landing file at `key`, checked (check_landing_object), read within the byte limit
    and checked against every rule of the contract, then against the plausibility `rules`
    (analytics.plausibility: ceilings, overflow, the band around the symbol's recent closes in
    the lake), which name the offending rows by `ts`.

    A file breaking a rule is quarantined and LandingFileRejected raised; a key already
    quarantined (a retried run) raises LandingFileRejected with its report's problems; a key
    that is absent otherwise raises FileNotFoundError. Nothing is written to the raw layer.
    """
    try:
        info = lake.object_info(key)
    except FileNotFoundError:
        rejected = latest_rejection(lake, key)
        if rejected is not None:
            raise rejected from None
        raise
    landing_key = check_landing_object(lake, info, universe.keys(), first_date, limits)
    landed_at = info.last_modified
    try:
        content = lake.read_object(key, limits.max_bytes)
        rows = parse_landing_file(content, landing_key.format, limits.max_rows)
        dates = trade_dates(rows.bars, landing_key, universe[landing_key.symbol].calendar)
        _require_plausible(
            lake, rows.bars.assign(symbol=landing_key.symbol, trade_date=dates), rules
        )
    except ObjectTooLargeError:
        problem = f"the file grew past the limit of {limits.max_bytes:,} bytes while being read"
        raise _reject(lake, key, [problem]) from None
    except LandingContractError as error:
        raise _reject(lake, key, error.problems, error.refused_bars) from error
    return ValidLandingFile(landing_key, content, rows, dates, landed_at)


def _require_plausible(lake: Lake, bars: pd.DataFrame, rules: PlausibilityRules) -> None:
    """LandingContractError naming the implausible rows (by ts) of a file's bars, if any."""
    result = check_bars_plausibility(lake, bars, rules)
    if not result.passed:
        rows = [f"{row.ts.isoformat()}: {row.problem}" for row in result.sample.itertuples()]
        raise LandingContractError(
            [f"plausibility: {result.failed_rows} implausible rows: {'; '.join(rows)}"]
        )


def ingest_landing_file(
    lake: Lake,
    key: str,
    universe: Mapping[str, Symbol],
    first_date: date,
    limits: LandingLimits,
    rules: PlausibilityRules = DEFAULT_RULES,
) -> AcceptedFile:
    """Validate the landing file at `key` (validate_landing_file), then store it in the raw
    layer as one payload per trade date."""
    valid = validate_landing_file(lake, key, universe, first_date, limits, rules)
    landing_key, content, rows, dates = valid.key, valid.content, valid.rows, valid.dates
    positions = pd.Series(range(len(dates)), index=dates.index).groupby(dates, sort=True)
    stored = unchanged = 0
    for trade_date, group in positions:
        body = content if len(positions) == 1 else rows.encode(group.tolist())
        payload = RawPayload(
            vendor=LANDING_VENDOR,
            endpoint=key,
            params={"landing_key": key, "trade_date": trade_date.isoformat()},
            content=body,
            media_type=MEDIA_TYPES[landing_key.format],
            extension=landing_key.format,
        )
        if store_payload(
            lake, payload, landing_key.symbol, trade_date.isoformat(), valid.landed_at
        ):
            stored += 1
        else:
            unchanged += 1
    return AcceptedFile(
        key=landing_key,
        rows=len(dates),
        payloads_stored=stored,
        payloads_unchanged=unchanged,
        session_dates=tuple(sorted(positions.groups)),
    )


def ingest_landing_files(
    lake: Lake,
    keys: Sequence[str],
    universe: Mapping[str, Symbol],
    first_date: date,
    limits: LandingLimits,
    rules: PlausibilityRules = DEFAULT_RULES,
) -> list[AcceptedFile]:
    """ingest_landing_file of every key, one after the other in the order of `keys`. Every file
    is ingested; the first of them whose ingestion raised then raises. (Not in threads: a
    landing run ingesting four files at once failed on a KeyError inside exchange_calendars'
    session lookup, whose pandas objects every file's validation shares.)"""
    accepted: list[AcceptedFile] = []
    first_error: Exception | None = None
    for key in keys:
        try:
            accepted.append(ingest_landing_file(lake, key, universe, first_date, limits, rules))
        except Exception as error:  # every file is ingested; the first error raises after
            if first_error is None:
                first_error = error
    if first_error is not None:
        raise first_error
    return accepted


def read_landing_payloads(lake: ObjectStore, payload_keys: Sequence[str]) -> list[pd.DataFrame]:
    """A partition's landing payloads as bars (ts, open, high, low, close, volume), one frame
    per payload in landing order (their keys sorted), the order of precedence of
    analytics.bars.merge_sources: a later landed file wins for the minutes it carries."""
    return [
        parse_landing_file(lake.get_object(key), key.rsplit(".", 1)[-1]).bars[list(RAW_COLUMNS)]
        for key in sorted(payload_keys)
    ]
