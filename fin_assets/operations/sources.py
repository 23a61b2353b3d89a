"""The metrics' observations, read from the platform's stores at scrape time.

- the Dagster instance: the runs per job and status with their wall times, aggregated in SQL
  (operations/run_summary.py: never one record per run), step stats of each job's newest
  finished run, the latest completed evaluation of every asset check of the code
  location, every check's evaluations summed over the runs (summed in SQL at the first
  scrape, then read incrementally: CheckTotals),
  the latest materialization of every asset, the stream status (the newest
  stream_landing_status materialization's metadata) and the successful landing runs' file
  keys (tag `fin/landing_run_key`: `key@etag`, comma-separated);
- the warehouse: rows per table (the local DuckDB file is opened read-only, never migrated);
- the lake: one recursive listing of the curated root (and of a zone with a root of its own),
  grouped by top-level folder; raw payloads per vendor (`raw/{vendor}/...`); landing files by
  state: `ingested` (a successful landing run took this version, key and etag), `quarantined`
  (under `quarantine/`, error reports not counted) and `waiting` (every other landing file);
  bars refused by the OHLC tolerance in the quarantined files (their error reports'
  `ohlc_refused_bars`, each report read once) and in runs (the failed runs' step failures:
  operations/step_refusals.py);
- the vendor limiter store (fin_assets.resources.vendors.limiter_store): the token-bucket
  state of each (vendor, key, quotas) row, turned into the calls each quota admits now, and
  the vendors' call, throttle and retry counts.

The lake listing and the warehouse counts cost most at scale; `LakeAndWarehouseCache` reads
them at most once per `interval_seconds` and serves the last reading in between.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from dagster import (
    AssetCheckKey,
    AssetKey,
    DagsterInstance,
    EventLogEntry,
    RunsFilter,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._core.storage.sqlalchemy_compat import db_select
from dagster._serdes import deserialize_value
from prometheus_client.core import Metric
from pyrate_limiter import Rate, TokenBucket
from sqlalchemy import (
    BigInteger,
    Connection,
    cast,
    create_engine,
    func,
    inspect,
    make_url,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from fin_assets.defs.warehouse.assets import WAREHOUSE_POOL
from fin_assets.landing.contract import LANDING_PREFIX, QUARANTINE_PREFIX
from fin_assets.landing.cursor import LandedFile
from fin_assets.objects.store import ObjectInfo
from fin_assets.operations.config import OperationsConfig
from fin_assets.operations.metrics import (
    AssetObservation,
    CheckObservation,
    CheckTotal,
    DatasetStats,
    QuotaState,
    RunSummary,
    StepObservation,
    StreamObservation,
    Usage,
    asset_metrics,
    check_metrics,
    check_total_metrics,
    cost_metrics,
    lake_metrics,
    landing_metrics,
    ohlc_refused_metrics,
    run_metrics,
    step_metrics,
    stream_metrics,
    vendor_metrics,
    warehouse_metrics,
)
from fin_assets.operations.run_summary import ingested_landing_versions, run_summary
from fin_assets.operations.step_refusals import StepRefusals
from fin_assets.resources.environments import lake_resource, limiter_store_url, warehouse_resource
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.storage import opened_warehouse
from fin_assets.resources.vendors.limiter_store import EVENTS_TABLE
from fin_assets.resources.vendors.limiter_store import TABLE as LIMITER_TABLE
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.settings import Settings

ZONES = ("raw", LANDING_PREFIX, QUARANTINE_PREFIX)
ERROR_REPORT_SUFFIX = ".error.json"
T = TypeVar("T")


def step_observations(instance: DagsterInstance, summary: RunSummary) -> list[StepObservation]:
    """Steps of each job's newest finished run (by end time)."""
    steps = []
    for job, (run_id, _) in summary.last_finished.items():
        for stats in instance.get_run_step_stats(run_id):
            seconds = (
                stats.end_time - stats.start_time
                if stats.start_time is not None and stats.end_time is not None
                else None
            )
            status = stats.status.value if stats.status is not None else "UNKNOWN"
            steps.append(StepObservation(job, stats.step_key, status, seconds))
    return steps


def check_observations(
    instance: DagsterInstance, check_keys: Sequence[AssetCheckKey]
) -> list[CheckObservation]:
    """The latest completed evaluation of each check (checks never evaluated are left out)."""
    summaries = instance.event_log_storage.get_asset_check_summary_records(list(check_keys))
    observations = []
    for key, summary in summaries.items():
        record = summary.last_completed_check_execution_record
        if record is None or record.event is None or record.event.dagster_event is None:
            continue
        evaluation = record.event.dagster_event.asset_check_evaluation_data
        failed_rows = evaluation.metadata.get("failed_rows")
        observations.append(
            CheckObservation(
                asset=key.asset_key.to_user_string(),
                check=key.name,
                severity=evaluation.severity.value,
                passed=evaluation.passed,
                failed_rows=int(failed_rows.value) if failed_rows is not None else None,
                timestamp=record.event.timestamp,
            )
        )
    return observations


@dataclass
class _Tally:
    """What CheckTotals has summed for one check."""

    severity: str = "ERROR"
    evaluations: int = 0
    checked_rows: int = 0
    failed_rows: int = 0


def _event_field(connection: Connection, *path: str) -> Any:
    """The text at `path` under the serialized evaluation event's AssetCheckEvaluation
    (`dagster_event.event_specific_data`), extracted by the database: PostgreSQL's
    jsonb_extract_path_text, otherwise SQLite's json_extract (the instance storages the
    project creates)."""
    column = AssetCheckExecutionsTable.c.evaluation_event
    full = ("dagster_event", "event_specific_data", *path)
    if connection.dialect.name == "postgresql":
        return func.jsonb_extract_path_text(cast(column, JSONB), *full)
    return func.json_extract(column, "$." + ".".join(full))


def _metadata_value(connection: Connection, name: str) -> Any:
    """The `value` of the evaluation's metadata entry `name`, as text (_event_field)."""
    return _event_field(connection, "metadata", name, "value")


class CheckTotals:
    """Each check's evaluations summed over every run, read incrementally across scrapes.

    The instance keeps one execution row per check and run (one per partition for partitioned
    checks), created PLANNED when the run starts and completed in place by its evaluation.
    The first call sums the history in SQL (`_sum_history`: the evaluations' `checked_rows` and
    `failed_rows` metadata extracted from their serialized events by the database's JSON
    functions, once per check and run, grouped per check): its answer is one row per check,
    whatever the history's length. Each later call reads, in one query per `page_size` rows,
    only the rows with an id above the cursor (every check at once), then the rows left
    PLANNED at earlier calls: a completed row is counted, a PLANNED row is kept for the next
    call while its run has not finished. A check is counted once per run (`counted`: the
    metadata of a ranged run's evaluation is the run's). A scrape's cost depends on the new
    evaluations, not on the history.
    """

    def __init__(
        self, instance: DagsterInstance, check_keys: Sequence[AssetCheckKey], page_size: int = 5000
    ) -> None:
        self.instance = instance
        self.page_size = page_size
        self.cursor = 0
        self._keys = {(key.asset_key.to_string(), key.name): key for key in check_keys}
        self._tallies = {key: _Tally() for key in check_keys}
        self._pending: dict[int, str] = {}  # row id → run id
        self._counted: set[tuple[AssetCheckKey, str]] = set()
        self._lock = threading.Lock()

    def __call__(self) -> list[CheckTotal]:
        with self._lock:
            if self.cursor == 0:
                self._sum_history()
            else:
                self._read_new()
            return [
                CheckTotal(
                    asset=key.asset_key.to_user_string(),
                    check=key.name,
                    severity=tally.severity,
                    evaluations=tally.evaluations,
                    checked_rows=tally.checked_rows,
                    failed_rows=tally.failed_rows,
                )
                for key, tally in self._tallies.items()
                if tally.evaluations
            ]

    def _read_new(self) -> None:
        """Count the rows PLANNED at the previous call and those above the cursor."""
        rows = self._read(AssetCheckExecutionsTable.c.id.in_(sorted(self._pending)))
        self._pending.clear()
        while True:
            page = self._read(AssetCheckExecutionsTable.c.id > self.cursor)
            rows += page
            if page:
                self.cursor = page[-1]["id"]
            if len(page) < self.page_size:
                break
        self._count(rows)

    def _sum_history(self) -> None:
        """Tally every completed evaluation up to the newest row now, in SQL; keep the rows of
        runs still in progress as the incremental reads expect (PLANNED rows pending, the
        checks they already evaluated counted)."""
        table = AssetCheckExecutionsTable.c
        planned = AssetCheckExecutionRecordStatus.PLANNED.value
        unfinished = self.instance.get_run_ids(RunsFilter(statuses=list(NOT_FINISHED_STATUSES)))
        with self.instance.event_log_storage.index_connection() as connection:
            cursor = connection.execute(select(func.max(table.id))).scalar() or 0
            upto = table.id <= cursor
            completed = (
                upto & (table.execution_status != planned) & table.evaluation_event.isnot(None)
            )
            per_run = (
                select(
                    table.asset_key,
                    table.check_name,
                    func.max(_event_field(connection, "severity", "__enum__")).label("severity"),
                    *(
                        func.max(cast(_metadata_value(connection, name), BigInteger)).label(name)
                        for name in ("checked_rows", "failed_rows")
                    ),
                )
                .where(completed)
                .group_by(table.asset_key, table.check_name, table.run_id)
                .subquery()
            )
            sums = connection.execute(
                select(
                    per_run.c.asset_key,
                    per_run.c.check_name,
                    func.max(per_run.c.severity),
                    func.count(),
                    func.sum(per_run.c.checked_rows),
                    func.sum(per_run.c.failed_rows),
                ).group_by(per_run.c.asset_key, per_run.c.check_name)
            ).all()
            in_progress = (
                connection.execute(
                    select(
                        table.id,
                        table.run_id,
                        table.asset_key,
                        table.check_name,
                        table.execution_status,
                    ).where(upto & table.run_id.in_(unfinished))
                ).all()
                if unfinished
                else []
            )
        for asset_key, check_name, severity, evaluations, checked, failed in sums:
            key = self._keys.get((asset_key, check_name))
            if key is None:
                continue
            self._tallies[key] = _Tally(
                severity=str(severity).removeprefix("AssetCheckSeverity."),
                evaluations=int(evaluations),
                checked_rows=int(checked or 0),
                failed_rows=int(failed or 0),
            )
        for row_id, run_id, asset_key, check_name, status in in_progress:
            key = self._keys.get((asset_key, check_name))
            if status == planned:
                self._pending[row_id] = run_id
            elif key is not None:
                self._counted.add((key, run_id))
        self.cursor = cursor

    def _read(self, condition: Any) -> list[Mapping[str, Any]]:
        table = AssetCheckExecutionsTable
        query = (
            db_select(
                [
                    table.c.id,
                    table.c.run_id,
                    table.c.asset_key,
                    table.c.check_name,
                    table.c.execution_status,
                    table.c.evaluation_event,
                ]
            )
            .where(condition)
            .order_by(table.c.id)
            .limit(self.page_size)
        )
        with self.instance.event_log_storage.index_connection() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def _unfinished_runs(self, run_ids: set[str]) -> set[str]:
        if not run_ids:
            return set()
        records = self.instance.get_run_records(RunsFilter(run_ids=sorted(run_ids)))
        return {r.dagster_run.run_id for r in records if not r.dagster_run.is_finished}

    def _count(self, rows: list[Mapping[str, Any]]) -> None:
        planned = AssetCheckExecutionRecordStatus.PLANNED.value
        unfinished = self._unfinished_runs(
            {row["run_id"] for row in rows if row["execution_status"] == planned}
        )
        for row in rows:
            key = self._keys.get((row["asset_key"], row["check_name"]))
            if key is None:
                continue
            if row["execution_status"] == planned:
                if row["run_id"] in unfinished:
                    self._pending[row["id"]] = row["run_id"]
                continue
            if (key, row["run_id"]) in self._counted or not row["evaluation_event"]:
                continue
            entry = deserialize_value(row["evaluation_event"], EventLogEntry)
            if entry.dagster_event is None:
                continue
            evaluation = entry.dagster_event.asset_check_evaluation_data
            self._counted.add((key, row["run_id"]))
            tally = self._tallies[key]
            tally.severity = evaluation.severity.value
            tally.evaluations += 1
            for name in ("checked_rows", "failed_rows"):
                value = evaluation.metadata.get(name)
                if value is not None:
                    setattr(tally, name, getattr(tally, name) + int(value.value))


def asset_observations(
    instance: DagsterInstance, asset_keys: Sequence[AssetKey], config: OperationsConfig
) -> list[AssetObservation]:
    """Each asset's latest materialization time (None: never) and its SLA now."""
    latest = instance.get_latest_materialization_events(list(asset_keys))
    now = datetime.now(UTC)
    observations = []
    for key in asset_keys:
        event = latest.get(key)
        observations.append(
            AssetObservation(
                asset=key.to_user_string(),
                last_materialization=event.timestamp if event is not None else None,
                sla_seconds=config.sla_seconds(key.to_user_string(), now),
            )
        )
    return observations


STREAM_STATUS_ASSET = AssetKey("stream_landing_status")


def stream_observation(instance: DagsterInstance) -> StreamObservation | None:
    """The newest materialization of stream_landing_status (fin_assets.defs.streaming.assets), or
    None when the stream status was never read."""
    event = instance.get_latest_materialization_event(STREAM_STATUS_ASSET)
    if event is None or event.asset_materialization is None:
        return None
    metadata = event.asset_materialization.metadata
    throughput = metadata.get("throughput_msg_per_s")
    dead_letters = metadata.get("dead_letters")
    return StreamObservation(
        group=str(metadata["group"].value),
        checked_at=datetime.fromisoformat(str(metadata["checked_at"].value)).timestamp(),
        lag=int(metadata["lag"].value),
        committed=int(metadata["committed"].value),
        landed_through={
            symbol: datetime.fromisoformat(landed).timestamp()
            for symbol, landed in metadata["landed_through"].value.items()
        },
        throughput=float(throughput.value) if throughput is not None else None,
        dead_letters=int(dead_letters.value) if dead_letters is not None else None,
    )


def lake_listing(lake: ParquetLake) -> list[ObjectInfo]:
    """Every object of the lake: the curated root, and each zone that has a root of its own."""
    infos = lake.list_object_infos("")
    listed = {info.key.split("/", 1)[0] for info in infos}
    for zone in ZONES:
        if zone not in listed:
            infos.extend(lake.list_object_infos(zone))
    return infos


def dataset_stats(infos: Iterable[ObjectInfo]) -> list[DatasetStats]:
    """Files and bytes per top-level folder."""
    totals: dict[str, tuple[int, int]] = {}
    for info in infos:
        dataset = info.key.split("/", 1)[0]
        files, size = totals.get(dataset, (0, 0))
        totals[dataset] = (files + 1, size + info.size)
    return [DatasetStats(name, files, size) for name, (files, size) in totals.items()]


def raw_payloads(infos: Iterable[ObjectInfo]) -> dict[str, int]:
    """Raw payloads per vendor (`raw/{vendor}/...`)."""
    counts: dict[str, int] = {}
    for info in infos:
        parts = info.key.split("/")
        if parts[0] == "raw" and len(parts) > 2:
            counts[parts[1]] = counts.get(parts[1], 0) + 1
    return counts


@dataclass(frozen=True)
class LandingReading:
    """Landing files by state, and the seconds each ingested file took from landing (its
    last-modified time) to the end of the run that carried it into the warehouse."""

    states: dict[str, int]
    latencies: list[float]


def landing_reading(
    etag: Callable[[ObjectInfo], str], infos: Iterable[ObjectInfo], ingested: dict[str, float]
) -> LandingReading:
    """Landing files by state (see the module docstring) and their landing-to-warehouse
    seconds; `etag` gives a landing object's version tag (ParquetLake.object_etag)."""
    states = {"ingested": 0, "quarantined": 0, "waiting": 0}
    latencies = []
    for info in infos:
        zone = info.key.split("/", 1)[0]
        if zone == QUARANTINE_PREFIX and not info.key.endswith(ERROR_REPORT_SUFFIX):
            states["quarantined"] += 1
        elif zone == LANDING_PREFIX:
            version = LandedFile(info.key, etag(info), 0.0).run_key
            if version in ingested:
                states["ingested"] += 1
                latencies.append(ingested[version] - info.last_modified.timestamp())
            else:
                states["waiting"] += 1
    return LandingReading(states, latencies)


def quarantined_refused_bars(
    refused_in: Callable[[ObjectInfo], int], infos: Iterable[ObjectInfo]
) -> int:
    """Bars refused by the OHLC tolerance in the quarantined landing files of the listing: the
    sum of their error reports' `ohlc_refused_bars` (`refused_in` reads one report's)."""
    return sum(
        refused_in(info)
        for info in infos
        if info.key.split("/", 1)[0] == QUARANTINE_PREFIX and info.key.endswith(ERROR_REPORT_SUFFIX)
    )


def warehouse_row_counts(settings: Settings, instance: DagsterInstance) -> dict[str, int] | None:
    """Rows per warehouse table; None when the local DuckDB file is being written.

    DuckDB admits one writing process or readers, never both: a run's warehouse step holds the
    `duckdb_warehouse` pool's only slot while it writes, and opening the file then would make
    one of the two fail. So the file is opened (read-only, never migrated) only while no slot
    is claimed; a step starting within the read's few milliseconds can still collide.
    """
    if settings.warehouse == "duckdb":
        if not settings.warehouse_path.exists():
            return {}
        pool = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
        if pool.active_slot_count:
            return None
        return DuckDBWarehouse(str(settings.warehouse_path)).row_counts()
    with opened_warehouse(warehouse_resource(settings)) as warehouse:
        return warehouse.row_counts()


def parse_quotas(store_key: str) -> tuple[str, list[tuple[str, int, int]]]:
    """Vendor and (label, limit, period seconds) quotas of a limiter store key
    `vendor:key_id:5/60s,25/86400s` (rate_limit.store_key)."""
    vendor, _key_id, limits = store_key.split(":", 2)
    quotas = []
    for quota in limits.split(","):
        limit, period = quota.rstrip("s").split("/")
        quotas.append((quota, int(limit), int(period)))
    return vendor, quotas


@dataclass(frozen=True)
class LimiterStore:
    """What the vendor limiter store holds: each limiter's token-bucket state and the event
    counts (limiter_store: `fin_vendor_limiter_state`, `fin_vendor_events`)."""

    states: list[tuple[str, str]]
    events: dict[tuple[str, str], int]


def read_limiter_store(store_url: str) -> LimiterStore:
    """Both tables of the store at `store_url`; empty when it (or a table) does not exist.
    Nothing is created: a store no limiter has used yet is left absent."""
    url = make_url(store_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return LimiterStore([], {})
    engine = create_engine(store_url)
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as connection:
            states = (
                connection.execute(text(f"SELECT key, state FROM {LIMITER_TABLE}")).all()
                if LIMITER_TABLE in tables
                else []
            )
            events = (
                connection.execute(text(f"SELECT vendor, event, count FROM {EVENTS_TABLE}")).all()
                if EVENTS_TABLE in tables
                else []
            )
    finally:
        engine.dispose()
    return LimiterStore(
        [(key, state) for key, state in states],
        {(vendor, event): int(count) for vendor, event, count in events},
    )


def quota_states(states: Iterable[tuple[str, str]], now: float) -> list[QuotaState]:
    """Calls each quota of each stored limiter (key, JSON state) admits at `now` (Unix seconds).

    A quota's remaining calls are its burst minus the tokens its bucket has not refilled yet
    (pyrate-limiter's GCRA `consumed`). Keys of several API keys of one vendor are summed.
    """
    algorithm = TokenBucket()
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    for key, state in states:
        vendor, quotas = parse_quotas(key)
        tats = [int(value) for value in json.loads(state)]
        for index, (label, limit, period) in enumerate(quotas):
            rate = Rate(limit, period * 1000)
            used = (
                algorithm.consumed([rate], (tats[index],), int(now * 1000))
                if len(tats) == len(quotas)
                else 0
            )
            size, remaining = totals.get((vendor, label), (0, 0))
            totals[(vendor, label)] = (size + limit, remaining + max(0, limit - used))
    return [
        QuotaState(vendor, label, size, remaining)
        for (vendor, label), (size, remaining) in totals.items()
    ]


class Cached(Generic[T]):
    """The value of `read`, read again at most once per `interval_seconds`; a read returning
    None (the store is busy) keeps the previous value and is retried at the next call."""

    def __init__(self, read: Callable[[], T | None], interval_seconds: float) -> None:
        self._read = read
        self.interval_seconds = interval_seconds
        self._value: T | None = None
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def __call__(self) -> T:
        with self._lock:
            if time.monotonic() - self._read_at >= self.interval_seconds:
                value = self._read()
                if value is not None:
                    self._value, self._read_at = value, time.monotonic()
            if self._value is None:
                raise RuntimeError("the source is busy and has no earlier reading")
            return self._value


@dataclass
class PlatformSources:
    """The collector's sources over one FIN_HOME's stores (see the module docstring)."""

    settings: Settings
    instance: DagsterInstance
    asset_keys: Sequence[AssetKey]
    check_keys: Sequence[AssetCheckKey]
    config: OperationsConfig
    interval_seconds: float = 60.0

    def __post_init__(self) -> None:
        self.lake = lake_resource(self.settings).get_lake()
        self._etags: dict[tuple[str, datetime, int], str] = {}
        self._refused: dict[tuple[str, datetime, int], int] = {}
        self.check_totals = CheckTotals(self.instance, self.check_keys)
        self.step_refusals = StepRefusals(self.instance)
        self.listing = Cached(lambda: lake_listing(self.lake), self.interval_seconds)
        self.row_counts = Cached(
            lambda: warehouse_row_counts(self.settings, self.instance), self.interval_seconds
        )

    def sources(self) -> dict[str, Callable[[], list[Metric]]]:
        """Source name → function returning its metric families."""
        return {
            "instance": self.instance_metrics,
            "warehouse": lambda: warehouse_metrics(self.row_counts()),
            "lake": self.lake_metrics,
            "vendors": self.vendor_metrics,
            "cost": self.cost_metrics,
        }

    def instance_metrics(self) -> list[Metric]:
        now = time.time()
        summary = run_summary(self.instance)
        return [
            *run_metrics(summary, now),
            *step_metrics(step_observations(self.instance, summary)),
            *check_metrics(check_observations(self.instance, self.check_keys)),
            *check_total_metrics(self.check_totals()),
            *asset_metrics(asset_observations(self.instance, self.asset_keys, self.config), now),
            *stream_metrics(stream_observation(self.instance), now),
        ]

    def etag(self, info: ObjectInfo) -> str:
        """The object's etag, read once per (key, last-modified time, size)."""
        version = (info.key, info.last_modified, info.size)
        if version not in self._etags:
            self._etags[version] = self.lake.object_etag(info.key)
        return self._etags[version]

    def refused_in(self, info: ObjectInfo) -> int:
        """`ohlc_refused_bars` of the error report at `info` (0 in reports without it), read
        once per (key, last-modified time, size): reports are never overwritten."""
        version = (info.key, info.last_modified, info.size)
        if version not in self._refused:
            report = json.loads(self.lake.get_object(info.key))
            self._refused[version] = int(report.get("ohlc_refused_bars", 0))
        return self._refused[version]

    def lake_metrics(self) -> list[Metric]:
        infos = self.listing()
        landing = landing_reading(self.etag, infos, ingested_landing_versions(self.instance))
        return [
            *lake_metrics(dataset_stats(infos), raw_payloads(infos)),
            *landing_metrics(landing.states, landing.latencies),
            *ohlc_refused_metrics(
                {
                    "landing": quarantined_refused_bars(self.refused_in, infos),
                    "runs": self.step_refusals(),
                }
            ),
        ]

    def vendor_metrics(self) -> list[Metric]:
        store = read_limiter_store(limiter_store_url(self.settings))
        return vendor_metrics(quota_states(store.states, time.time()), store.events)

    def cost_metrics(self) -> list[Metric]:
        infos = self.listing()
        spark = run = 0.0
        for group in run_summary(self.instance).groups:
            if group.job in self.config.spark_jobs:
                spark += group.durations.total
            else:
                run += group.durations.total
        usage = Usage(len(infos), sum(info.size for info in infos), spark, run)
        return cost_metrics(usage, self.config.prices, self.config.budget_usd)
