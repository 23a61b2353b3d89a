"""Freshness: a landing file on S3 → its risk and signal rows in the warehouse, via the daemon.

A throw-away deployment: lake on moto's S3 server (real HTTP, in this process), instance on a
throw-away Postgres database, `dagster-daemon run` with the landing sensor and declarative
automation running. History is backfilled first (`--history-days` dates × the universe), then
the next `--waves` days (XNYS sessions, so every symbol has a file) arrive as landing files, one
file per symbol and day, a day's files made first, then written one after the other (as a vendor
drop or the streaming writer delivers them), each wave once the previous one's downstream work
is done (settle) and a random 0 to 5 s more (the point of the sensor daemon's 5-s loop a file
arrives at is chance). A file is fresh when its (date, symbol) rows of fact_risk and fact_signal
are visible in the warehouse: a run's writes are staged and published when its last step
succeeded, just before the run ends (write-audit-publish, fin_assets.defs.common.publish), so
that is the end of the run that loaded them. The landing sensor batches a day's files into one
landing_job run that takes them through the whole graph. Also printed: when the steps of
daily_bars (the baseline: the part before analytics and the warehouse), fact_risk and
fact_signal materialized their partitions (staged, not yet visible).

Each run of landing_job starts from the instance's run launcher: `--run-launcher fork` (the
default, fin_assets.run_launcher: a worker forked from a pre-imported process) or `code_server`
(Dagster's default: a fresh `dagster api execute_run` interpreter per run). The output names
the CPU, the launcher and the load average (1, 5, 15 min) before each wave and at the end:
the machine may be shared, and wall-clock figures under load are not comparable.

    python -m benchmarks.freshness --history-days 33 --waves 3 [--run-launcher code_server]
"""

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import pandas as pd
from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    RunsFilter,
)
from dagster._core.execution.backfill import BulkActionStatus
from moto.server import ThreadedMotoServer

from benchmarks.pipeline_stages import load_average, machine_description
from fin_assets.analytics.market_calendar import sessions_in_range
from fin_assets.analytics.simulator import simulate_intraday
from fin_assets.definitions import defs
from fin_assets.defs.common.jobs import job_assets
from fin_assets.instance import open_instance
from fin_assets.instance_database import database_url, drop_postgres_database
from fin_assets.resources.environments import warehouse_resource
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.storage import opened_warehouse
from fin_assets.settings import RUN_LAUNCHERS, Settings
from fin_assets.shared.partitions import partition_values
from fin_assets.testing.daemon import (
    Daemon,
    backfill_finished,
    running_daemon,
    submit_backfill,
)
from fin_assets.testing.landing_files import csv_bytes
from fin_assets.testing.postgres import postgres_server
from fin_assets.universe import load_universe

SYMBOL_HISTORY_ASSETS = job_assets(defs(), "symbol_history_job")
TIMEOUT_SECONDS = 1800
POLL_SECONDS = 0.5
# A wave is written at a random moment of the sensor daemon's loop: the settle ends in step with
# the daemon's loops, so without the offset every wave arrived at the same point of the loop.
SENSOR_LOOP_SECONDS = 5.0
FRESH_ASSETS = ("daily_bars", "fact_risk", "fact_signal")
# The risk and signal rows of a file visible in the warehouse: the target's end point.
PUBLISHED = "risk and signal rows published"


def start_s3() -> tuple[ThreadedMotoServer, dict[str, str]]:
    """moto's S3 server on 127.0.0.1 and the AWS environment that reaches it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    environment = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "moto-bench-key",
        "AWS_SECRET_ACCESS_KEY": "moto-bench-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    os.environ.update(environment)
    return server, environment


def materialized(instance: DagsterInstance, asset: str, keys: set[str]) -> set[str]:
    ids = instance.event_log_storage.get_latest_storage_id_by_partition(
        AssetKey(asset), DagsterEventType.ASSET_MATERIALIZATION, keys
    )
    return set(ids)


def published_at(instance: DagsterInstance, key: str) -> float | None:
    """When the rows of partition `key` became visible in the warehouse (epoch seconds): the
    end of the runs that loaded its fact_risk and fact_signal rows, once both succeeded — a
    run's writes are staged and published when its last step succeeded, just before the run
    ends (fin_assets.defs.common.publish). None until then."""
    ends = []
    for asset in ("fact_risk", "fact_signal"):
        records = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[key]), limit=1
        ).records
        if not records:
            return None
        run = instance.get_run_record_by_id(records[0].run_id)
        if run is None or run.dagster_run.status != DagsterRunStatus.SUCCESS:
            return None
        ends.append(run.end_time)
    return max(ends)


def wave(
    daemon: Daemon, instance: DagsterInstance, lake: ParquetLake, day: date
) -> dict[str, dict[str, float]]:
    """Write one landing file per symbol for `day`; seconds until each asset has its partition
    (the step's materialization) and until its risk and signal rows are published."""
    universe = {s.symbol: s for s in load_universe()}
    symbols = partition_values().symbols
    keys = {f"{day}|{symbol}" for symbol in symbols}
    contents = {
        symbol: csv_bytes(simulate_intraday(7, universe[symbol], day)) for symbol in symbols
    }
    written: dict[str, float] = {}
    for symbol, content in contents.items():
        lake.replace_object(f"landing/{symbol}/{day}/bench.csv", content)
        written[f"{day}|{symbol}"] = time.time()
    seen: dict[str, dict[str, float]] = {name: {} for name in (*FRESH_ASSETS, PUBLISHED)}
    began = time.perf_counter()
    while len(seen[PUBLISHED]) < len(keys):
        if time.perf_counter() - began > TIMEOUT_SECONDS:
            raise TimeoutError(f"wave {day} not fresh in {TIMEOUT_SECONDS} s:\n{daemon.log_tail()}")
        for asset in FRESH_ASSETS:
            now = time.time()
            for key in materialized(instance, asset, keys) - seen[asset].keys():
                seen[asset][key] = now - written[key]
        for key in keys - seen[PUBLISHED].keys():
            moment = published_at(instance, key)
            if moment is not None:
                seen[PUBLISHED][key] = moment - written[key]
        time.sleep(POLL_SECONDS)
    return seen


def row_check(settings: Settings, wave_days: list[date]) -> str:
    """After the waves: every wave (date, symbol) has exactly one fact_risk row, and no
    (date, symbol, signal) of fact_signal is there twice (signals are events: a day may have
    none). None lost, none duplicated."""
    keys = {(symbol, day) for day in wave_days for symbol in partition_values().symbols}
    with opened_warehouse(warehouse_resource(settings)) as warehouse:
        risk = warehouse.query(
            "SELECT symbol, trade_date, count(*) AS n FROM fact_risk WHERE trade_date >= ? "
            "GROUP BY symbol, trade_date",
            [wave_days[0]],
        )
        signals = warehouse.query(
            "SELECT count(*) AS n FROM fact_signal WHERE trade_date >= ? "
            "GROUP BY symbol, trade_date, signal",
            [wave_days[0]],
        )
    found = {(row.symbol, pd.Timestamp(row.trade_date).date()) for row in risk.itertuples()}
    missing = keys - found
    return (
        f"fact_risk: {len(missing)} of {len(keys)} wave partitions missing, "
        f"{int((risk['n'] > 1).sum())} duplicated; fact_signal: {int(signals['n'].sum())} rows, "
        f"{int((signals['n'] > 1).sum())} keys duplicated"
    )


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history-days", type=int, default=33)
    parser.add_argument("--waves", type=int, default=3)
    parser.add_argument("--run-launcher", choices=RUN_LAUNCHERS, default="fork")
    args = parser.parse_args()
    print(f"{machine_description()}; run launcher {args.run_launcher}; {load_average()}")
    server, environment = start_s3()
    bucket = f"fin-bench-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=environment["AWS_ENDPOINT_URL"]).create_bucket(Bucket=bucket)
    home = Path(tempfile.mkdtemp(prefix="fin_freshness_")) / "fin_home"
    settings = replace(
        Settings.local(
            home, database_url(postgres_server(), f"fin_assets_bench_{uuid.uuid4().hex[:12]}")
        ),
        lake_url=f"s3://{bucket}/lake",
        run_launcher=args.run_launcher,
    )
    lake = ParquetLake(settings.lake_url)
    instance = open_instance(settings)
    history = [partition_values().history_start + timedelta(n) for n in range(args.history_days)]
    # The waves are the days right after the history, each an XNYS session: every symbol has a
    # file, and no day is missing from any symbol's history (a gap fails the look-back assets).
    wave_days = [history[-1] + timedelta(n + 1) for n in range(args.waves)]
    if sessions_in_range("XNYS", wave_days[0], wave_days[-1]) != wave_days:
        parser.error(f"the waves {wave_days[0]}..{wave_days[-1]} are not all XNYS sessions")
    try:
        with running_daemon(settings, environment) as daemon:
            keys = [f"{d}|{s}" for d in history for s in partition_values().symbols]
            backfill = submit_backfill(instance, settings, SYMBOL_HISTORY_ASSETS, keys, "history")
            daemon.wait_for("history", lambda: backfill_finished(instance, backfill), 3 * 3600)
            status = instance.get_backfill(backfill).status
            if status != BulkActionStatus.COMPLETED_SUCCESS:
                # Waves over a partial history would time their runs failing (look-back gaps).
                raise RuntimeError(f"the history backfill ended {status}:\n{daemon.log_tail()}")
            results = []
            for day in wave_days:
                daemon.settle(instance, TIMEOUT_SECONDS)
                offset = random.uniform(0, SENSOR_LOOP_SECONDS)
                time.sleep(offset)
                print(f"wave {day}: {offset:.1f} s after the settle; {load_average()}")
                written = time.time()
                results.append(wave(daemon, instance, lake, day))
                print(run_timeline(instance, written))
        print(row_check(settings, wave_days))
    finally:
        drop_postgres_database(settings.dagster_pg_url)
        server.stop()
    report(results)


def run_timeline(instance: DagsterInstance, since: float) -> str:
    """When each run created after `since` (epoch seconds) was queued, launched, started and
    finished, and each of its steps' seconds, all relative to `since`; "not yet" and "running"
    for what has not happened when it is called (the run's last steps may still be going)."""
    lines = []
    for run in reversed(
        instance.get_runs(RunsFilter(created_after=datetime.fromtimestamp(since, UTC)))
    ):
        stats = instance.get_run_stats(run.run_id)
        record = instance.get_run_record_by_id(run.run_id)
        launched, started, ended = (
            "not yet" if moment is None else f"{moment - since:.1f} s"
            for moment in (stats.launch_time, stats.start_time, stats.end_time)
        )
        lines.append(
            f"  {run.job_name} {run.run_id[:8]}: created "
            f"{record.create_timestamp.timestamp() - since:.1f} s, launched {launched}, "
            f"started {started}, ended {ended}"
        )
        steps = sorted(
            instance.get_run_step_stats(run.run_id), key=lambda step: step.start_time or 0
        )
        lines.append(
            "    "
            + ", ".join(
                f"{step.step_key} "
                + (
                    "running"
                    if step.start_time is None or step.end_time is None
                    else f"{step.end_time - step.start_time:.1f}"
                )
                for step in steps
            )
        )
    return "\n".join(lines)


def report(results: list[dict[str, dict[str, float]]]) -> None:
    print(f"{machine_description()}; at the end {load_average()}")
    for name in (*FRESH_ASSETS, PUBLISHED):
        values = [v for result in results for v in result[name].values()]
        print(
            f"{name}: {len(values)} files, p50 {percentile(values, 50):.1f} s, "
            f"p95 {percentile(values, 95):.1f} s, max {max(values):.1f} s"
        )


if __name__ == "__main__":
    main()
