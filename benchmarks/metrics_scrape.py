"""What one scrape of `fin-assets metrics` costs over 500 symbols × 10 years of partitions.

The instance (FIN_HOME's embedded Postgres, as `fin-assets dev` has it) is filled with the
history a platform of that size accumulates, written in bulk (not by running the jobs):

- runs: per weekday over `years`, one `symbol_history_job` (the day's pull of every symbol),
  one `landing_job` (tagged with its landing file's key@etag), one `reference_job` and, weekly,
  one `lake_compaction_job` (a run in 50 failed); plus the history backfill in monthly single
  runs (job `history_backfill` here, to keep them apart). Each run's serialized DagsterRun,
  status and times are bulk-inserted into the runs table, the landing runs' tag into run_tags
  (as DagsterInstance.add_run stores them: the exporter aggregates over both tables);
- materializations: one `intraday_bars` event per date × symbol partition (1.3 M at 500 × 10 y),
  each the serialized event of a real materialization with its partition and run, bulk-inserted
  into event_logs (the asset's latest-materialization pointer by storing the newest for real);
- check executions: each symbol_history_job run's nine intraday_bars checks, completed, their
  evaluation events serialized, bulk-inserted into asset_check_executions.

The lake, warehouse and vendor store are empty: their readings are cached per
`--lake-interval` (lake listing, warehouse counts) or independent of history (the vendor
store), and not measured here.

Measured in this process (time.perf_counter, wall; tracemalloc for the peak of Python
allocations during one scrape): the first scrape of a new exporter, then `--scrapes` scrapes in
a row (median), each `generate_latest` of the exporter's registry. Baseline of the same run:
one bare `get_latest_materialization_events` over every asset (what a scrape must read at
least) and prometheus_client rendering the same samples from memory.

    python -m benchmarks.metrics_scrape [--symbols 500] [--years 10] [--scrapes 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetKey,
    AssetMaterialization,
    DagsterEvent,
    DagsterEventType,
    DagsterRun,
    DagsterRunStatus,
    EventLogEntry,
)
from dagster._core.events import StepMaterializationData
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    SqlEventLogStorageTable,
)
from dagster._core.storage.runs.schema import RunsTable, RunTagsTable
from dagster._serdes import serialize_value
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from fin_assets.defs.landing import LANDING_RUN_KEY_TAG
from fin_assets.instance_database import leave_embedded_server
from fin_assets.operations.config import OperationsConfig
from fin_assets.operations.exporter import build_registry
from fin_assets.settings import Settings

INTRADAY = AssetKey("intraday_bars")
CHECKS = [
    "schema",
    "unique_key",
    "ohlc_consistency",
    "positive_prices",
    "non_negative_volume",
    "plausibility",
    "session_completeness",
    "ohlc_repaired",
]
BATCH = 20_000


def weekdays(years: int, end: date) -> list[date]:
    start = end - timedelta(days=round(365.25 * years))
    days = (start + timedelta(days=n) for n in range((end - start).days))
    return [day for day in days if day.weekday() < 5]


def add_runs(instance, days: list[date]) -> list[tuple[str, str, date]]:
    """The runs of the history (module docstring): (run id, job, day) of each."""
    runs: list[tuple[str, str, date]] = []
    for month in sorted({day.replace(day=1) for day in days}):
        runs.append((uuid.uuid4().hex, "history_backfill", month))
    for day in days:
        runs.append((uuid.uuid4().hex, "symbol_history_job", day))
        runs.append((uuid.uuid4().hex, "landing_job", day))
        runs.append((uuid.uuid4().hex, "reference_job", day))
        if day.weekday() == 4:
            runs.append((uuid.uuid4().hex, "lake_compaction_job", day))
    rows, tag_rows = [], []
    for number, (run_id, job, day) in enumerate(runs):
        tags = {LANDING_RUN_KEY_TAG: f"landing/BTC/{day}/drop.csv@{run_id[:8]}"}
        status = DagsterRunStatus.FAILURE if number % 50 == 49 else DagsterRunStatus.SUCCESS
        run = DagsterRun(
            job_name=job,
            run_id=run_id,
            status=status,
            tags=tags if job == "landing_job" else {},
        )
        tag_rows += [
            {"run_id": run_id, "key": key, "value": value} for key, value in run.tags.items()
        ]
        start = datetime(day.year, day.month, day.day, 22, tzinfo=UTC)
        rows.append(
            {
                "run_id": run_id,
                "pipeline_name": job,
                "status": status.value,
                "run_body": serialize_value(run),
                "create_timestamp": start.replace(tzinfo=None),
                "update_timestamp": (start + timedelta(minutes=15)).replace(tzinfo=None),
                "start_time": start.timestamp(),
                "end_time": start.timestamp() + 120 + number % 600,
            }
        )
    with instance.run_storage.connect() as connection:
        for first in range(0, len(rows), BATCH):
            connection.execute(RunsTable.insert(), rows[first : first + BATCH])
        for first in range(0, len(tag_rows), BATCH):
            connection.execute(RunTagsTable.insert(), tag_rows[first : first + BATCH])
    return runs


def materialization(run_id: str, partition: str, timestamp: float) -> EventLogEntry:
    event = DagsterEvent(
        event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
        job_name="symbol_history_job",
        step_key="intraday_bars",
        event_specific_data=StepMaterializationData(
            AssetMaterialization(
                INTRADAY,
                partition=partition,
                metadata={"rows_in_run": 390, "ohlc_repaired": 0, "incomplete_sessions": 0},
            )
        ),
    )
    return EventLogEntry(
        error_info=None,
        level=20,
        user_message="",
        run_id=run_id,
        timestamp=timestamp,
        step_key="intraday_bars",
        job_name="symbol_history_job",
        dagster_event=event,
    )


def add_materializations(instance, runs, symbols: int) -> int:
    """One intraday_bars event per date × symbol partition, bound to the day's history run."""
    template = serialize_value(materialization("RUNID", "PARTITION", 1.0))
    template = template.replace('"timestamp": 1.0', '"timestamp": TIMESTAMP')
    names = [f"S{number:03d}" for number in range(symbols)]
    rows, written, newest = [], 0, None
    with instance.event_log_storage.index_connection() as connection:
        for run_id, job, day in runs:
            if job != "symbol_history_job":
                continue
            timestamp = datetime(day.year, day.month, day.day, 22, 5, tzinfo=UTC)
            for symbol in names:
                partition = f"{day}|{symbol}"
                body = (
                    template.replace("RUNID", run_id)
                    .replace("PARTITION", partition)
                    .replace("TIMESTAMP", str(timestamp.timestamp()))
                )
                rows.append(
                    {
                        "run_id": run_id,
                        "event": body,
                        "dagster_event_type": DagsterEventType.ASSET_MATERIALIZATION.value,
                        "timestamp": timestamp.replace(tzinfo=None),
                        "step_key": "intraday_bars",
                        "asset_key": INTRADAY.to_string(),
                        "partition": partition,
                    }
                )
                newest = (run_id, partition, timestamp.timestamp())
            if len(rows) >= BATCH:
                connection.execute(SqlEventLogStorageTable.insert(), rows)
                written += len(rows)
                rows = []
        if rows:
            connection.execute(SqlEventLogStorageTable.insert(), rows)
            written += len(rows)
    if newest is not None:
        instance.event_log_storage.store_event(materialization(*newest))
    return written


def add_check_executions(instance, runs) -> int:
    rows = []
    for run_id, job, day in runs:
        if job != "symbol_history_job":
            continue
        timestamp = datetime(day.year, day.month, day.day, 22, 6)
        for name in CHECKS:
            severity = (
                AssetCheckSeverity.WARN
                if name in ("session_completeness", "ohlc_repaired")
                else AssetCheckSeverity.ERROR
            )
            evaluation = AssetCheckEvaluation(
                asset_key=INTRADAY,
                check_name=name,
                passed=True,
                metadata={"checked_rows": 390 * 500, "failed_rows": 0},
                severity=severity,
            )
            event = EventLogEntry(
                error_info=None,
                level=20,
                user_message="",
                run_id=run_id,
                timestamp=timestamp.timestamp(),
                step_key="intraday_bars",
                job_name=job,
                dagster_event=DagsterEvent(
                    event_type_value=DagsterEventType.ASSET_CHECK_EVALUATION.value,
                    job_name=job,
                    event_specific_data=evaluation,
                ),
            )
            rows.append(
                {
                    "asset_key": INTRADAY.to_string(),
                    "check_name": name,
                    "run_id": run_id,
                    "execution_status": "SUCCEEDED",
                    "evaluation_event": serialize_value(event),
                    "evaluation_event_timestamp": timestamp,
                    "create_timestamp": timestamp,
                }
            )
    with instance.event_log_storage.index_connection() as connection:
        connection.execute(AssetCheckExecutionsTable.insert(), rows)
    return len(rows)


def timed(function: Callable[[], object]) -> float:
    began = time.perf_counter()
    function()
    return time.perf_counter() - began


def peak_bytes(function: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class Replay:
    """A collector yielding the families parsed from one scrape: rendering alone."""

    def __init__(self, text: str) -> None:
        self.families = list(text_string_to_metric_families(text))

    def collect(self):
        return iter(self.families)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--scrapes", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="fin_metrics_scrape_"))
    settings = Settings.local(home, dagster_pg_url="")
    os.environ.update(settings.environment())
    try:
        from fin_assets.instance import open_instance

        instance = open_instance(settings)
        days = weekdays(args.years, date(2026, 11, 30))
        began = time.perf_counter()
        runs = add_runs(instance, days)
        events = add_materializations(instance, runs, args.symbols)
        executions = add_check_executions(instance, runs)
        print(
            f"state: {len(runs)} runs, {events} intraday_bars materializations "
            f"({args.symbols} symbols x {len(days)} weekdays), {executions} check executions, "
            f"written in {time.perf_counter() - began:.0f} s"
        )
        registry = build_registry(settings, OperationsConfig(), interval_seconds=60.0)
        first = timed(lambda: generate_latest(registry))
        warm = [timed(lambda: generate_latest(registry)) for _ in range(args.scrapes)]
        peak = peak_bytes(lambda: generate_latest(registry))
        text = generate_latest(registry).decode()
        samples = sum(len(f.samples) for f in text_string_to_metric_families(text))
        keys = sorted(instance.get_asset_keys())
        bare = statistics.median(
            timed(lambda: instance.get_latest_materialization_events(keys)) for _ in range(5)
        )
        replay = CollectorRegistry(auto_describe=False)
        replay.register(Replay(text))
        rendering = statistics.median(timed(lambda: generate_latest(replay)) for _ in range(5))
        median = statistics.median(warm)
        sources = {
            s.labels["source"]: s.value
            for f in text_string_to_metric_families(text)
            if f.name == "fin_assets_source_scrape_seconds"
            for s in f.samples
        }
        print(
            f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        print(f"samples per scrape: {samples}")
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak resident memory of the process (state generation included): {maxrss:.0f} MiB")
        print(
            f"first scrape: {first:.3f} s; next scrapes: median {median:.3f} s "
            f"(min {min(warm):.3f}, max {max(warm):.3f}); peak Python memory {peak / 2**20:.1f} MiB"
        )
        print(
            "per source (last scrape): " + ", ".join(f"{k} {v:.3f} s" for k, v in sources.items())
        )
        print(
            f"baseline: latest materializations of {len(keys)} assets {bare:.4f} s; "
            f"rendering {samples} samples {rendering:.4f} s"
        )
        print(
            f"ratio: scrape / bare query {median / bare:.1f}x; "
            f"scrape / rendering {median / rendering:.1f}x"
        )
    finally:
        leave_embedded_server(home)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
