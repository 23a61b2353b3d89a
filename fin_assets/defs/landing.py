"""The landing zone in Dagster: the landing sensor, its job, and raw_quotes' landing branch.

- `landing_job`: raw_quotes → intraday_bars → daily_bars, one run per landing file over exactly
  the (date, symbol) partitions its key names (one symbol × the key's dates, range tags).
- `landing_sensor`: lists `landing/` (one prefix-scoped listing per tick), and for each file it
  has not seen (fin_assets/landing/cursor.py) requests a run of landing_job with
  `run_key = "{key}@{etag}"` and run config `raw_quotes.config.landing_key = key`. A key that
  breaks the layout is quarantined by the sensor itself (no run can cover it); a file whose
  dates are not partitions yet (today) is deferred to a later tick.
- raw_quotes with `landing_key` set ingests that file instead of calling the vendor
  (`ingest_landing_run`): validation, then raw payloads or quarantine + LandingFileRejected.
- `process_landing_files`: the same, synchronously, for `fin-assets ingest-landing`.

Runs of a landing file carry the tags `fin/landing_key`, `fin/landing_run_key` and
`fin/landing_symbol` (limit it to one run per value on a production instance).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetSelection,
    Config,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    JobDefinition,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    define_asset_job,
    sensor,
)

from fin_assets.analytics.market_calendar import is_session
from fin_assets.analytics.quality import RuleResult
from fin_assets.defs.checks import check_result
from fin_assets.defs.partition_ranges import rectangle_tags
from fin_assets.defs.partition_scope import date_symbol_scope
from fin_assets.defs.partitions import (
    HISTORY_START,
    PARTITION_OF,
    SYMBOLS,
    date_partitions,
    members_of,
)
from fin_assets.landing.contract import (
    LANDING_PREFIX,
    LANDING_VENDOR,
    LandingFileRejected,
    LandingKey,
    parse_landing_key,
    quarantine_key,
)
from fin_assets.landing.cursor import LandedFile, LandingCursor, plan_tick
from fin_assets.landing.ingest import ingest_landing_file, reject_invalid_key
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.raw_store import raw_partition_prefix
from fin_assets.resources.storage import LakeResource
from fin_assets.universe import load_universe

LANDING_SENSOR_INTERVAL_SECONDS = 10
LANDING_KEY_TAG = "fin/landing_key"
LANDING_RUN_KEY_TAG = "fin/landing_run_key"
# Landing runs of one symbol must not overlap (two files of one day: the run that read fewer
# payloads could write its bars last). Production instances limit this tag to one run per
# value (run coordinator `tag_concurrency_limits`, applyLimitPerUniqueValue).
LANDING_SYMBOL_TAG = "fin/landing_symbol"
LANDING_ASSETS = ("raw_quotes", "intraday_bars", "daily_bars")

landing_job = define_asset_job(
    "landing_job",
    selection=AssetSelection.assets(*LANDING_ASSETS),
    description="One landing file: raw payloads (or quarantine) → one-minute bars → daily bars.",
)


class RawQuotesConfig(Config):
    """Run config of raw_quotes: empty for a vendor pull; `landing_key` (a key under landing/)
    makes the run ingest that landing file instead, over exactly the partitions it covers."""

    landing_key: str = ""


def landing_run_config(key: str) -> dict:
    """Run config of a landing_job run for the landing file `key`."""
    return {"ops": {"raw_quotes": {"config": {"landing_key": key}}}}


def landing_run_tags(landing_key: LandingKey, run_key: str) -> dict[str, str]:
    """Range tags covering the key's partitions, plus the landing key, run key and symbol."""
    symbol = landing_key.symbol
    value = PARTITION_OF[symbol]
    return {
        **rectangle_tags(landing_key.start, landing_key.end, value, value),
        LANDING_KEY_TAG: landing_key.key,
        LANDING_RUN_KEY_TAG: run_key,
        LANDING_SYMBOL_TAG: symbol,
    }


def last_partition_date() -> date:
    """The newest date partition (yesterday in UTC): landing files past it wait."""
    return date.fromisoformat(date_partitions.get_last_partition_key())


def runnable_key(lake: ParquetLake, key: str, last_date: date) -> LandingKey | None:
    """The parsed key when a run can cover it now, None when its dates are not partitions yet.

    A key breaking the layout is quarantined and LandingFileRejected raised.
    """
    landing_key = reject_invalid_key(lake, key, SYMBOLS, HISTORY_START)
    return landing_key if landing_key.end <= last_date else None


@sensor(
    job=landing_job,
    minimum_interval_seconds=LANDING_SENSOR_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="New files under landing/ → a landing_job run over the partitions each covers.",
)
def landing_sensor(context: SensorEvaluationContext, lake: LakeResource) -> SensorResult:
    """One run request per new landing file (run_key = key@etag); see the module docstring."""
    store = lake.get_lake()
    cursor = LandingCursor.from_json(context.cursor)
    tick = plan_tick(cursor, store.list_object_infos(LANDING_PREFIX), store.object_etag)
    last_date = last_partition_date()
    requests: list[RunRequest] = []
    deferred: list[LandedFile] = []
    for landed in tick.new_files:
        try:
            landing_key = runnable_key(store, landed.key, last_date)
        except LandingFileRejected as error:
            context.log.warning(str(error))
            continue
        if landing_key is None:
            deferred.append(landed)
            continue
        requests.append(
            RunRequest(
                run_key=landed.run_key,
                run_config=landing_run_config(landed.key),
                tags=landing_run_tags(landing_key, landed.run_key),
            )
        )
    context.log.info(
        f"{len(tick.new_files)} new landing files: {len(requests)} runs requested, "
        f"{len(deferred)} deferred until their dates are partitions"
    )
    return SensorResult(run_requests=requests, cursor=tick.next_cursor(deferred).to_json())


def ingest_landing_run(
    context: AssetExecutionContext, lake: ParquetLake, key: str
) -> MaterializeResult:
    """raw_quotes for a landing file: its run must cover exactly the key's partitions."""
    landing_key = parse_landing_key(key, SYMBOLS, HISTORY_START)
    scope = date_symbol_scope(context)
    partition_symbols = members_of(PARTITION_OF[landing_key.symbol])
    if scope.symbols != partition_symbols or scope.dates != landing_key.dates:
        raise ValueError(
            f"landing file {key} covers {landing_key.symbol} × {landing_key.start}..."
            f"{landing_key.end}, but the run covers {scope.symbols} × {scope.start}..{scope.end}"
        )
    universe = {s.symbol: s for s in load_universe()}
    accepted = ingest_landing_file(lake, key, universe, HISTORY_START)
    calendar = universe[landing_key.symbol].calendar
    sessions = [d for d in landing_key.dates if is_session(calendar, d)]
    missing = [
        (landing_key.symbol, d.isoformat())
        for d in sessions
        if not lake.list_objects(raw_partition_prefix(LANDING_VENDOR, landing_key.symbol, str(d)))
    ]
    presence = RuleResult(
        rule="payload_present",
        passed=not missing,
        failed_rows=len(missing),
        checked_rows=len(sessions),
        sample=pd.DataFrame(missing, columns=["symbol", "trade_date"]),
        detail=f"{len(missing)} session partitions without a landing payload",
    )
    context.log.info(
        f"landing file {key}: {accepted.rows} rows, {accepted.payloads_stored} payloads stored"
    )
    return MaterializeResult(
        metadata={
            "vendor": LANDING_VENDOR,
            "landing_key": key,
            "partitions": scope.partition_count,
            "rows": accepted.rows,
            "payloads_stored": accepted.payloads_stored,
            "payloads_unchanged": accepted.payloads_unchanged,
            "session_dates": MetadataValue.json([d.isoformat() for d in accepted.session_dates]),
        },
        check_results=[check_result("payload_present", presence)],
    )


@dataclass(frozen=True)
class LandingOutcome:
    """What `process_landing_files` did with one landing file."""

    key: str
    status: str  # "succeeded", "failed", "rejected", "deferred" or "already processed"
    run_id: str = ""


def process_landing_files(
    lake: ParquetLake,
    instance: DagsterInstance,
    job: JobDefinition,
    run_config: Mapping[str, Any] | None = None,
    on_file: Callable[[LandingOutcome], None] = lambda outcome: None,
) -> list[LandingOutcome]:
    """Ingest every landing file, one landing_job run each, in this process.

    A file (key and etag) that already has a successful run, by the sensor or by an earlier
    call, is skipped. Runs are recorded in `instance`, with `run_config` (e.g. loggers) added
    to each landing run's config; `on_file` sees each outcome as it comes.
    """
    outcomes = []
    last_date = last_partition_date()
    for info in lake.list_object_infos(LANDING_PREFIX):
        landed = LandedFile(info.key, lake.object_etag(info.key), info.last_modified.timestamp())
        outcome = _process_landing_file(lake, instance, job, landed, last_date, run_config or {})
        on_file(outcome)
        outcomes.append(outcome)
    return outcomes


def _process_landing_file(
    lake: ParquetLake,
    instance: DagsterInstance,
    job: JobDefinition,
    landed: LandedFile,
    last_date: date,
    run_config: Mapping[str, Any],
) -> LandingOutcome:
    done = RunsFilter(
        tags={LANDING_RUN_KEY_TAG: landed.run_key}, statuses=[DagsterRunStatus.SUCCESS]
    )
    if instance.get_run_records(done, limit=1):
        return LandingOutcome(landed.key, "already processed")
    try:
        landing_key = runnable_key(lake, landed.key, last_date)
    except LandingFileRejected:
        return LandingOutcome(landed.key, "rejected")
    if landing_key is None:
        return LandingOutcome(landed.key, "deferred")
    result = job.execute_in_process(
        instance=instance,
        run_config={**run_config, **landing_run_config(landed.key)},
        tags=landing_run_tags(landing_key, landed.run_key),
        raise_on_error=False,
    )
    if result.success:
        return LandingOutcome(landed.key, "succeeded", result.run_id)
    rejected = lake.has_object(quarantine_key(landed.key)) and not lake.has_object(landed.key)
    return LandingOutcome(landed.key, "rejected" if rejected else "failed", result.run_id)
