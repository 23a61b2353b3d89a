"""The landing zone in Dagster: the landing sensor, its job, and raw_quotes' landing branch.

- `landing_job`: the whole date × symbol graph (raw_quotes → bars → indicators, signals,
  anomalies, risk → warehouse facts) over exactly the partitions of a batch of landing files.
  The files' own partitions go through the graph in that one run, so a file of the newest day
  reaches the warehouse's signal and risk rows without waiting for automation; declarative
  automation then carries the change to the look-back dependents (the symbols' later dates)
  and to the portfolio.
- `landing_sensor`: lists `landing/` (prefix-scoped; a tick that finds nothing new lists it
  again for a few seconds: fin_assets.landing.watch) and takes the files it has not seen
  (fin_assets/landing/cursor.py). It groups them into batches — one per date
  range and contiguous stretch of partition values (fin_assets.landing.batches), so a vendor
  drop or a streaming flush of every symbol is one run, not one process per file — and requests
  a run of landing_job per batch with `run_key` = the files' sorted `key@etag`s and run config
  `raw_quotes.config.landing_keys`. Every object ends in one visible state: requested (then
  ingested by its run), quarantined with its report (a key breaking the layout, a symbolic
  link, a file over the size limits or breaking the contract: the sensor checks each before
  batching it), or waiting with its reason in the cursor (`reasons`) and the tick's log and
  skip message: dates not partitions yet (today), partitions a queued or running landing run
  covers (landing runs of one partition never overlap: the run that read fewer payloads could
  write its bars last), a temporary name, a key the lake cannot address, or an error while
  checking or quarantining it (tried again every tick). No object can stop the others.
- raw_quotes with `landing_keys` set ingests those files instead of calling the vendor
  (`ingest_landing_run`). The sensor has read and validated each file before batching it (a
  file breaking the contract is quarantined then, never half-ingested), so one bad file
  cannot hold back the others of its batch.
- `process_landing_files`: the same, one file per run, synchronously (staged runs:
  fin_assets.defs.common.publish), for `fin-assets ingest-landing`, followed by the runs of
  the file's look-back dependents (defs/ingest/lookback.py) that automation makes when the
  daemon runs.

Landing runs carry the tags `fin/landing_run_key`, `fin/landing_files` (how many),
`fin/landing_partitions` (the partition values covered, comma-separated) and
`fin/launch_at_once` (the instance launches them without queueing: fin_assets.run_coordinator).
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from dagster import (
    AssetExecutionContext,
    Config,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    Definitions,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    define_asset_job,
    sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from pydantic import Field

from fin_assets.analytics.market_calendar import is_session
from fin_assets.analytics.plausibility import PlausibilityRules
from fin_assets.defs.common.checks import check_result
from fin_assets.defs.common.jobs import symbol_history
from fin_assets.defs.common.partition_ranges import rectangle_tags
from fin_assets.defs.common.partition_scope import date_symbol_scope
from fin_assets.defs.common.partitions import GraphPartitions, graph_partitions
from fin_assets.defs.common.publish import execute_staged_in_process
from fin_assets.defs.ingest.lookback import dependent_runs
from fin_assets.landing.batches import LandingBatch, landing_batches
from fin_assets.landing.contract import (
    LANDING_PREFIX,
    LANDING_VENDOR,
    LandingFileRejected,
    LandingKey,
    parse_landing_key,
)
from fin_assets.landing.cursor import LandedFile, LandingCursor, Tick, plan_tick
from fin_assets.landing.ingest import (
    check_landing_object,
    ingest_landing_files,
    latest_rejection,
    object_version,
    unreadable_reason,
    validate_landing_file,
)
from fin_assets.landing.limits import LandingLimits
from fin_assets.landing.raw_store import raw_partition_prefix
from fin_assets.landing.watch import LandingWatch, watch_landing_zone
from fin_assets.objects.store import ObjectInfo
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.storage import LakeResource
from fin_assets.run_coordinator import LAUNCH_AT_ONCE_TAG
from fin_assets.settings import environ
from fin_assets.shared.check_rules import payload_present_result
from fin_assets.shared.partitions import partition_values
from fin_assets.universe import load_universe

# The landing sensor's minimum interval. Dagster's sensor daemon evaluates its sensors in a loop
# every 5 s (its floor) and skips a sensor whose last tick started or ENDED less than the minimum
# interval ago: an interval of 5 s skipped every other loop (10 s between listings, a tick's own
# duration counting). Below a loop minus a tick, every loop lists the landing zone, and each tick
# watches it for most of its loop (fin_assets.landing.watch).
LANDING_SENSOR_INTERVAL_SECONDS = 1
LANDING_RUN_KEY_TAG = "fin/landing_run_key"
LANDING_FILES_TAG = "fin/landing_files"
LANDING_PARTITIONS_TAG = "fin/landing_partitions"
# Tag of the runs `fin-assets ingest-landing` makes for a file's look-back dependents.
LANDING_FOLLOW_UP_TAG = "fin/landing_follow_up"

LANDING_JOB = "landing_job"


def landing_job(partitions: GraphPartitions) -> UnresolvedAssetJobDefinition:
    """The job of the landing runs: the date × symbol graph of `partitions`."""
    return define_asset_job(
        LANDING_JOB,
        selection=symbol_history(partitions),
        description="A batch of landing files through their partitions of the graph: raw "
        "payloads → bars → indicators, signals, risk → warehouse facts.",
    )


class RawQuotesConfig(Config):
    """Run config of raw_quotes: empty for a vendor pull; `landing_keys` (keys under landing/)
    make the run ingest those landing files instead, over exactly the partitions they cover."""

    landing_keys: list[str] = Field(default_factory=list)


def landing_run_config(keys: Sequence[str]) -> dict:
    """Run config of a landing_job run ingesting the landing files `keys`."""
    return {"ops": {"raw_quotes": {"config": {"landing_keys": list(keys)}}}}


def landing_run_tags(batch: LandingBatch) -> dict[str, str]:
    """Range tags covering the batch's partitions, its run key, file count and values; launched
    without waiting in the run queue (fin_assets.run_coordinator)."""
    return {
        **rectangle_tags(batch.start, batch.end, batch.first, batch.last),
        LAUNCH_AT_ONCE_TAG: "true",
        LANDING_RUN_KEY_TAG: batch.run_key,
        LANDING_FILES_TAG: str(len(batch.files)),
        LANDING_PARTITIONS_TAG: ",".join(batch.values),
    }


def last_partition_date() -> date:
    """The newest date partition (yesterday in UTC): landing files past it wait."""
    return date.fromisoformat(graph_partitions().date_partitions.get_last_partition_key())


@dataclass(frozen=True)
class Waiting:
    """A landing object left where it is for now, and why; `deferred` when that resolves by
    itself (its dates become partitions), else an operator may have to act."""

    reason: str
    deferred: bool = False


def landing_version(lake: ParquetLake, info: ObjectInfo) -> str:
    """The object's version tag (object_version); an object that cannot be read for it (a key
    the lake cannot address, a file it may not read) is tagged by its size and time."""
    try:
        return object_version(lake, info)
    except FileNotFoundError:
        raise
    except (OSError, ValueError):
        return f"unread-{info.size}-{info.last_modified.timestamp():.0f}"


def runnable_key(
    lake: ParquetLake, info: ObjectInfo, last_date: date, limits: LandingLimits
) -> LandingKey | Waiting:
    """The parsed key when a run can take the file now, else why it waits.

    The file is checked against the whole contract first (read within the size limits), so a
    batch never holds a file its run would reject; a file breaking it is quarantined and
    LandingFileRejected raised. Any other error (a failed read or quarantine) makes the file
    wait, with the error as its reason: one object never stops the others.
    """
    key = info.key
    reason = unreadable_reason(key)
    if reason is not None:
        return Waiting(reason)
    if info.kind == "folder":
        return Waiting("a folder the lake may not open: its files wait until it may")
    try:
        values = partition_values()
        landing_key = check_landing_object(lake, info, values.symbols, values.history_start, limits)
        if landing_key.end > last_date:
            reason = f"its dates end {landing_key.end}, after the newest partition {last_date}"
            return Waiting(reason, deferred=True)
        universe = {s.symbol: s for s in load_universe()}
        rules = PlausibilityRules.from_environment(environ())
        validate_landing_file(lake, key, universe, values.history_start, limits, rules)
    except LandingFileRejected:
        raise
    except Exception as error:  # any failure of one object must not stop the others
        return Waiting(f"not checked, tried again later: {type(error).__name__}: {error}")
    return landing_key


ACTIVE_RUN_STATUSES = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


def busy_values(instance: DagsterInstance) -> set[str]:
    """Partition values of landing runs queued or in progress."""
    runs = instance.get_runs(RunsFilter(job_name=LANDING_JOB, statuses=ACTIVE_RUN_STATUSES))
    return {value for run in runs for value in run.tags[LANDING_PARTITIONS_TAG].split(",")}


def plan_landing_tick(
    store: ParquetLake, cursor: LandingCursor, listing: Sequence[ObjectInfo]
) -> Tick:
    """The objects of `listing` the cursor has not seen (fin_assets.landing.cursor)."""
    infos = {info.key: info for info in listing}
    return plan_tick(cursor, listing, lambda key: landing_version(store, infos[key]))


@sensor(
    job_name=LANDING_JOB,
    minimum_interval_seconds=LANDING_SENSOR_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="New files under landing/ → landing_job runs over the partitions they cover.",
)
def landing_sensor(context: SensorEvaluationContext, lake: LakeResource) -> SensorResult:
    """One run request per batch of new landing files; see the module docstring."""
    store = lake.get_sensor_lake()
    limits = LandingLimits.from_environment(environ())
    cursor = LandingCursor.from_json(context.cursor)
    listing, tick = watch_landing_zone(
        cursor,
        lambda: store.list_object_infos(LANDING_PREFIX, temporary=True),
        lambda listing: plan_landing_tick(store, cursor, listing),
        LandingWatch.from_environment(environ()),
    )
    infos = {info.key: info for info in listing}
    last_date = last_partition_date()
    runnable: list[tuple[LandedFile, LandingKey]] = []
    waiting: dict[LandedFile, str] = {}
    rejected: list[str] = []
    for landed in tick.new_files:
        try:
            state = runnable_key(store, infos[landed.key], last_date, limits)
        except LandingFileRejected as error:
            context.log.warning(str(error))
            rejected.append(landed.key)
            continue
        if isinstance(state, Waiting):
            waiting[landed] = state.reason
        else:
            runnable.append((landed, state))
    requests: list[RunRequest] = []
    busy = busy_values(context.instance)
    for batch in landing_batches(runnable):
        overlap = busy.intersection(batch.values)
        if overlap:
            reason = f"partitions of {','.join(sorted(overlap))} are in a queued or running run"
            waiting.update(dict.fromkeys(batch.files, reason))
            continue
        busy.update(batch.values)
        requests.append(
            RunRequest(
                run_key=batch.run_key,
                run_config=landing_run_config(batch.keys),
                tags=landing_run_tags(batch),
            )
        )
    for landed, reason in waiting.items():
        if cursor.reasons.get(landed.key) != reason:
            context.log.info(f"{landed.key} waits: {reason}")
    summary = (
        f"{len(tick.new_files)} new landing objects: {len(requests)} runs requested, "
        f"{len(rejected)} quarantined, {len(waiting)} waiting (reasons in the cursor)"
    )
    if tick.new_files:  # a tick without new files (every 5 s) says nothing
        context.log.info(summary)
    return SensorResult(
        run_requests=requests,
        skip_reason=None if requests else summary,
        cursor=tick.next_cursor(waiting, moved=rejected).to_json(),
    )


def ingest_landing_run(
    context: AssetExecutionContext, lake: ParquetLake, keys: Sequence[str]
) -> MaterializeResult:
    """raw_quotes for a batch of landing files: the run must cover exactly their partitions.

    The sensor only batches files that keep the contract; a file replaced by a breaking version
    since is quarantined here and its LandingFileRejected fails the run (the new version has
    its own run request, which the sensor rejects).
    """
    values = partition_values()
    landing_keys = [parse_landing_key(key, values.symbols, values.history_start) for key in keys]
    scope = date_symbol_scope(context)
    ranges = {(k.start, k.end) for k in landing_keys}
    taken = dict.fromkeys(values.partition_of[k.symbol] for k in landing_keys)
    covered = tuple(s for s in values.symbols if values.partition_of[s] in taken)
    if len(ranges) != 1 or scope.symbols != covered or (scope.start, scope.end) not in ranges:
        raise ValueError(
            f"landing files {list(keys)} cover {covered} × {sorted(ranges)}, but the run covers "
            f"{scope.symbols} × {scope.start}..{scope.end}"
        )
    universe = {s.symbol: s for s in load_universe()}
    limits = LandingLimits.from_environment(environ())
    rules = PlausibilityRules.from_environment(environ())
    accepted = ingest_landing_files(lake, keys, universe, values.history_start, limits, rules)
    sessions = [
        (f.key.symbol, d)
        for f in accepted
        for d in f.key.dates
        if is_session(universe[f.key.symbol].calendar, d)
    ]
    missing = [
        (symbol, d.isoformat())
        for symbol, d in sessions
        if not lake.list_objects(raw_partition_prefix(LANDING_VENDOR, symbol, str(d)))
    ]
    presence = payload_present_result(missing, len(sessions), "landing payload")
    rows = sum(f.rows for f in accepted)
    stored = sum(f.payloads_stored for f in accepted)
    context.log.info(f"{len(keys)} landing files: {rows} rows, {stored} payloads stored")
    return MaterializeResult(
        metadata={
            "vendor": LANDING_VENDOR,
            "landing_keys": MetadataValue.json(list(keys)),
            "partitions": scope.partition_count,
            "rows": rows,
            "payloads_stored": stored,
            "payloads_unchanged": sum(f.payloads_unchanged for f in accepted),
        },
        check_results=[check_result("payload_present", presence)],
    )


@dataclass(frozen=True)
class LandingOutcome:
    """What `process_landing_files` did with one landing object.

    `status`: "succeeded" (the file's run and its look-back dependents' runs), "failed" (its
    run), "dependents failed" (its run succeeded, a dependents' run did not: `stale` names the
    ranges left stale), "rejected", "deferred" (its dates are not partitions yet), "waiting"
    (see `detail`) or "already processed".
    """

    key: str
    status: str
    run_id: str = ""
    detail: str = ""  # the quarantine key and problems, or why the object waits
    dependent_run_ids: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()


def process_landing_files(
    lake: ParquetLake,
    instance: DagsterInstance,
    definitions: Definitions,
    run_config: Mapping[str, Any] | None = None,
    on_file: Callable[[LandingOutcome], None] = lambda outcome: None,
) -> list[LandingOutcome]:
    """Ingest every landing object, one landing_job run each (a batch of one), in this process,
    then carry each ingested file through its look-back dependents (defs/ingest/lookback.py), as
    automation does with the daemon.

    A file (key and etag) that already has a successful run, by the sensor or by an earlier
    call, is skipped. Every object gets an outcome, whatever happens to the others (see
    runnable_key). Runs are recorded in `instance`, with `run_config` (e.g. loggers) added to
    each run's config; `on_file` sees each outcome as it comes.
    """
    outcomes = []
    last_date = last_partition_date()
    limits = LandingLimits.from_environment(environ())
    for info in lake.list_object_infos(LANDING_PREFIX, temporary=True):
        try:
            landed = LandedFile(
                info.key, landing_version(lake, info), info.last_modified.timestamp()
            )
        except FileNotFoundError:
            continue
        outcome = _process_landing_file(
            lake, instance, definitions, info, landed, last_date, limits, run_config or {}
        )
        on_file(outcome)
        outcomes.append(outcome)
    return outcomes


def _process_landing_file(
    lake: ParquetLake,
    instance: DagsterInstance,
    definitions: Definitions,
    info: ObjectInfo,
    landed: LandedFile,
    last_date: date,
    limits: LandingLimits,
    run_config: Mapping[str, Any],
) -> LandingOutcome:
    done = RunsFilter(
        tags={LANDING_RUN_KEY_TAG: landed.run_key}, statuses=[DagsterRunStatus.SUCCESS]
    )
    if instance.get_run_records(done, limit=1):
        return LandingOutcome(landed.key, "already processed")
    try:
        state = runnable_key(lake, info, last_date, limits)
    except LandingFileRejected as error:
        return LandingOutcome(landed.key, "rejected", detail=_rejection_detail(error))
    if isinstance(state, Waiting):
        status = "deferred" if state.deferred else "waiting"
        return LandingOutcome(landed.key, status, detail=state.reason)
    [batch] = landing_batches([(landed, state)])
    result = execute_staged_in_process(
        definitions.resolve_job_def(LANDING_JOB),
        instance,
        run_config={**run_config, **landing_run_config(batch.keys)},
        tags=landing_run_tags(batch),
        raise_on_error=False,
    )
    rejection = None if lake.has_object(landed.key) else latest_rejection(lake, landed.key)
    if rejection is not None:
        return LandingOutcome(landed.key, "rejected", result.run_id, _rejection_detail(rejection))
    if not result.success:
        return LandingOutcome(landed.key, "failed", result.run_id)
    run_ids, stale = [], []
    for dependents in dependent_runs(lake, state.symbol, state.start, state.end):
        follow_up = execute_staged_in_process(
            definitions.resolve_job_def(dependents.job_name),
            instance,
            run_config=dict(run_config),
            tags={**dependents.tags, LANDING_FOLLOW_UP_TAG: landed.run_key},
            asset_selection=dependents.asset_keys,
            raise_on_error=False,
        )
        run_ids.append(follow_up.run_id)
        if not follow_up.success:
            stale.append(dependents.label)
    return LandingOutcome(
        landed.key,
        "dependents failed" if stale else "succeeded",
        result.run_id,
        dependent_run_ids=tuple(run_ids),
        stale=tuple(stale),
    )


def _rejection_detail(error: LandingFileRejected) -> str:
    return f"moved to {error.quarantined_as}: " + "; ".join(error.problems)
