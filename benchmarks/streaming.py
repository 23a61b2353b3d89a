"""Streaming: publisher → landing writer throughput, and publish → signal row latency.

Broker: librdkafka's mock cluster in this process (real Kafka protocol over TCP on 127.0.0.1).

1. Throughput. `--days` synthetic trading days of the whole universe are published as fast as
   possible (the publisher's msg/s), then consumed twice from the beginning, each time by a new
   consumer group: the baseline is a bare confluent-kafka consumer that only receives the
   messages; the landing writer (`--until-caught-up`, default flush settings) decodes,
   validates, aggregates and writes every landing file to a local lake and commits. Both
   include joining the group. "writer / bare" is the cost of the writer's work.
2. Latency, publish → the signal row in the warehouse. The history before 2025-01-27 of
   `--symbols` is materialized first (reference_job, symbol_history_job), then that day's
   session is replayed `--speed` times faster than real time for `--latency-seconds` while the
   writer runs as `fin-assets stream land` (a separate process, `--flush-seconds` micro-batches,
   default the writer's 5 s)
   and `dagster-daemon run` carries the files to the warehouse: the landing sensor ticks on every
   loop of the sensor daemon (5 s), declarative automation every EVALUATION_INTERVAL_SECONDS,
   each run is launched as its own process from the queue (instance on a throw-away Postgres
   database, lake a local folder, warehouse DuckDB). A minute bar's latency runs from the
   publish of its closing heartbeat to the end of the first landing_job run that took the
   bar's landing file (the file is in the run's config) and loaded its symbol's signal row:
   a run's writes are published, visible to readers, when its last step succeeded, just before
   the run ends (write-audit-publish, fin_assets.defs.common.publish). Runs start from
   the instance's run launcher, `--run-launcher` (fin_assets.run_launcher; default `fork`).

The output names the CPU and the load average before and after each part (the machine may be
shared: wall-clock figures under load are not comparable).

    python -m benchmarks.streaming --days 3 --speed 6 --latency-seconds 300
    python -m benchmarks.streaming ... --run-launcher code_server   # Dagster's default launcher
    python -m benchmarks.streaming ... --flush-seconds 30           # larger micro-batches
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from confluent_kafka import Consumer, Producer
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from benchmarks.pipeline_stages import load_average, machine_description
from fin_assets.analytics import simulator
from fin_assets.analytics.market_calendar import session_minutes, sessions_in_range
from fin_assets.definitions import build_definitions
from fin_assets.defs.common.automation import EVALUATION_INTERVAL_SECONDS
from fin_assets.defs.ingest.landing import LANDING_SENSOR_INTERVAL_SECONDS
from fin_assets.instance import open_instance
from fin_assets.instance_database import database_url, drop_postgres_database
from fin_assets.resources.lake import ParquetLake
from fin_assets.settings import RUN_LAUNCHERS, Settings
from fin_assets.shared.partitions import partition_values
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.landing_writer import LandingWriter, WriterConfig
from fin_assets.streaming.messages import Quote
from fin_assets.streaming.publisher import QuotePublisher, bar_quotes, merge_by_time, replay_day
from fin_assets.testing.daemon import Daemon, failures, idle, running_daemon
from fin_assets.testing.postgres import postgres_server
from fin_assets.testing.ticks import run_history
from fin_assets.universe import load_universe

SEED = 42
FIRST_DAY = date(2025, 6, 2)
LATENCY_DAY = date(2025, 1, 27)
LATENCY_SYMBOLS = "AAPL,MSFT,BTC"
DRAIN_SECONDS = 600
"""How long after the end of the replay the latency run may take to bring everything in."""
SETTLE_SECONDS = 30
"""How long the daemon runs before the stream, for the automation to see the history."""
POLL_SECONDS = 0.5


def bare_consume(bootstrap: str, topic: str, total: int) -> float:
    """Seconds for a new group to receive `total` messages (join included)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "bare", "auto.offset.reset": "earliest"}
    )
    started = time.perf_counter()
    consumer.subscribe([topic])
    received = 0
    while received < total:
        received += sum(m.error() is None for m in consumer.consume(2_000, 0.5))
    seconds = time.perf_counter() - started
    consumer.close()
    return seconds


def throughput(bootstrap: str, days: int) -> None:
    symbols = list(load_universe())
    last = sessions_in_range("XNYS", FIRST_DAY, FIRST_DAY + timedelta(days=3 * days))[days - 1]
    kafka = KafkaSettings(bootstrap, topic="throughput")
    started, published = time.perf_counter(), 0
    day = FIRST_DAY
    while day <= last:
        published += replay_day(QuotePublisher(kafka), SEED, symbols, day, speed=0)
        day += timedelta(days=1)
    publish_seconds = time.perf_counter() - started
    bare_seconds = bare_consume(bootstrap, kafka.topic, published)
    with tempfile.TemporaryDirectory() as lake_dir:
        writer = LandingWriter(kafka, ParquetLake(lake_dir), WriterConfig(until_caught_up=True))
        started = time.perf_counter()
        stats = writer.run(install_signal_handlers=False)
        writer_seconds = time.perf_counter() - started
    assert stats.messages == published, (stats.messages, published)
    print(f"{published:,} messages, {len(symbols)} symbols, {FIRST_DAY} → {last}")
    print("| step | seconds | msg/s | vs bare consumer |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| publish | {publish_seconds:.1f} | {published / publish_seconds:,.0f} | - |")
    print(f"| bare consumer | {bare_seconds:.1f} | {published / bare_seconds:,.0f} | 1.0 |")
    print(
        f"| landing writer ({stats.bars:,} bars, {stats.files} files) | {writer_seconds:.1f} | "
        f"{published / writer_seconds:,.0f} | {writer_seconds / bare_seconds:.1f} |"
    )


def landing_signal_times(instance: DagsterInstance) -> dict[str, tuple[float, float]]:
    """For each landing file taken by a succeeded landing_job run that loaded the fact_signal
    partition of the file's symbol: (that run's start, its end), epoch seconds; the first such
    run. The run's end is when its writes are visible: a run's writes are staged and published
    when its last step succeeded (fin_assets.defs.common.publish), just before the run succeeds."""
    times: dict[str, tuple[float, float]] = {}
    runs = instance.get_runs(
        RunsFilter(job_name="landing_job", statuses=[DagsterRunStatus.SUCCESS])
    )
    stats = {run.run_id: instance.get_run_stats(run.run_id) for run in runs}
    for run in sorted(runs, key=lambda run: stats[run.run_id].start_time or 0.0):
        loaded = set()
        for record in instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
        ).records:
            event = record.event_log_entry.dagster_event
            if event.asset_key == AssetKey("fact_signal"):
                loaded.add(str(event.partition).split("|")[1])
        run_stats = stats[run.run_id]
        for key in run.run_config["ops"]["raw_quotes"]["config"]["landing_keys"]:
            if key.split("/")[1] in loaded:
                times.setdefault(key, (run_stats.start_time or 0.0, run_stats.end_time or 0.0))
    return times


def publish_paced(
    publisher: QuotePublisher,
    quotes: list[Quote],
    speed: float,
    closed_at: dict[tuple[str, int], float],
) -> None:
    """Publish `quotes` `speed` times faster than their event time; heartbeat publish times go
    to `closed_at[(symbol, minute)]` (wall-clock epoch seconds)."""
    started, first_ts = time.monotonic(), quotes[0].ts
    for quote in quotes:
        delay = started + (quote.ts - first_ts) / 1000 / speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        publisher.publish(quote)
        if quote.type == "heartbeat":
            closed_at[(quote.symbol, quote.ts - 60_000)] = time.time()
    publisher.close()


def start_writer(
    bootstrap: str, topic: str, settings: Settings, flush_seconds: float
) -> subprocess.Popen:
    """`fin-assets stream land --flush-seconds S` on the lake of `settings`, logging to
    FIN_HOME/writer.log."""
    env = os.environ | {
        "FIN_HOME": str(settings.home),
        "FIN_LAKE_URL": settings.lake_url,
        "FIN_KAFKA_BOOTSTRAP": bootstrap,
        "FIN_KAFKA_TOPIC": topic,
    }
    command = [sys.executable, "-m", "fin_assets.cli", "stream", "land", "--group", "lat"]
    command += ["--flush-seconds", str(flush_seconds)]
    with (settings.home / "writer.log").open("w") as sink:
        return subprocess.Popen(command, env=env, stderr=sink)


def stream_through_daemon(
    daemon: Daemon,
    instance: DagsterInstance,
    settings: Settings,
    kafka: KafkaSettings,
    quotes: list[Quote],
    speed: float,
    seconds: float,
    flush_seconds: float,
) -> tuple[
    dict[tuple[str, int], float],
    dict[str, tuple[float, float]],
    dict[str, list[tuple[str, int, float]]],
]:
    """Run the writer, publish `quotes` paced, wait until every landing file's signal row is in
    (or DRAIN_SECONDS after the replay). Returns the heartbeats' publish times per
    (symbol, bar ts), landing_signal_times, and per landing file its bars as
    (symbol, bar ts, file modification time)."""
    lake = ParquetLake(settings.lake_url)
    publisher = QuotePublisher(kafka)
    writer = start_writer(kafka.bootstrap, kafka.topic, settings, flush_seconds)
    # The clock starts once the writer has joined the group and consumed a first message.
    publisher.publish(quotes[0])
    publisher.flush()
    log = settings.home / "writer.log"
    while "resumes at offset" not in log.read_text():
        assert writer.poll() is None, log.read_text()
        time.sleep(0.2)
    closed_at: dict[tuple[str, int], float] = {}
    feeder = threading.Thread(target=publish_paced, args=(publisher, quotes[1:], speed, closed_at))
    feeder.start()
    stop_writer_at = None
    times: dict[str, tuple[float, float]] = {}
    deadline = time.monotonic() + seconds + DRAIN_SECONDS
    while time.monotonic() < deadline:
        assert daemon.process.poll() is None, daemon.log_tail()
        now = time.monotonic()
        if stop_writer_at is None and not feeder.is_alive():
            stop_writer_at = now + flush_seconds + 5
        if stop_writer_at is not None and now >= stop_writer_at and writer.poll() is None:
            writer.terminate()  # SIGTERM: flush and commit what is left
            writer.wait()
        times = landing_signal_times(instance)
        if writer.poll() is not None and set(lake.list_objects("landing")) <= times.keys():
            break
        time.sleep(POLL_SECONDS)
    feeder.join()
    if writer.poll() is None:
        writer.terminate()
        writer.wait()
    written = {}
    for info in lake.list_object_infos("landing"):
        symbol = info.key.split("/")[1]
        bar_times = pq.read_table(f"{lake.root}/{info.key}").column("ts").cast("int64")
        written[info.key] = [
            (symbol, ts, info.last_modified.timestamp()) for ts in bar_times.to_pylist()
        ]
    return closed_at, times, written


def signal_latency(
    bootstrap: str,
    symbols: list[str],
    speed: float,
    seconds: float,
    run_launcher: str,
    flush_seconds: float,
) -> None:
    """Publish → signal row in the warehouse, per minute bar; see the module docstring."""
    universe = {s.symbol: s for s in load_universe()}
    session_open = session_minutes("XNYS", LATENCY_DAY)[0]
    minutes = int(seconds * speed / 60)
    end = session_open + pd.Timedelta(minutes=minutes)
    streams = []
    for name in symbols:
        bars = simulator.simulate_intraday(SEED, universe[name], LATENCY_DAY)
        streams.append(
            bar_quotes(universe[name], bars[(bars["ts"] >= session_open) & (bars["ts"] < end)])
        )
    quotes = list(merge_by_time(streams))
    kafka = KafkaSettings(bootstrap, topic="latency")
    with tempfile.TemporaryDirectory() as folder:
        settings = replace(
            Settings.local(
                Path(folder) / "fin_home",
                database_url(postgres_server(), f"fin_assets_bench_{uuid.uuid4().hex[:12]}"),
            ),
            run_launcher=run_launcher,
        )
        settings.home.mkdir(parents=True)
        instance = open_instance(settings)
        try:
            began = time.perf_counter()
            run_history(
                build_definitions(settings),
                instance,
                symbols,
                partition_values().history_start,
                LATENCY_DAY - timedelta(days=1),
            )
            print(
                f"history {partition_values().history_start} → "
                f"{LATENCY_DAY - timedelta(days=1)} × {symbols}: "
                f"{time.perf_counter() - began:.0f} s"
            )
            with running_daemon(settings, {}) as daemon:
                # Let the automation see the history and settle before the stream starts.
                time.sleep(SETTLE_SECONDS)
                daemon.wait_for("idle", lambda: idle(instance), DRAIN_SECONDS)
                closed_at, times, written = stream_through_daemon(
                    daemon, instance, settings, kafka, quotes, speed, seconds, flush_seconds
                )
                jobs = Counter(run.job_name for run in instance.get_runs())
                failed = failures(instance)
        finally:
            drop_postgres_database(settings.dagster_pg_url)
    assert not failed, "\n".join(failed)
    delays, to_file, to_run = [], [], []
    for key, closes in written.items():
        if key not in times:
            continue
        started, loaded = times[key]
        for symbol, ts, file_time in closes:
            published = closed_at[(symbol, ts)]
            delays.append(loaded - published)
            to_run.append(started - published)
            to_file.append(file_time - published)
    missing = len(closed_at) - len(delays)
    print(
        f"{len(delays)} minute bars ({len(symbols)} symbols, {minutes} market minutes of "
        f"{LATENCY_DAY} at {speed}x; writer flushes every {flush_seconds:g} s; "
        f"dagster-daemon: landing sensor every daemon loop (min. interval "
        f"{LANDING_SENSOR_INTERVAL_SECONDS} s), automation "
        f"every {EVALUATION_INTERVAL_SECONDS} s; runs {dict(jobs)}; {missing} not reaching a "
        "signal row)"
    )
    print("| publish → | p50 s | p95 s | max s |")
    print("| --- | ---: | ---: | ---: |")
    for label, values in (
        ("landing file written", to_file),
        ("landing run started", to_run),
        ("signal row in the warehouse", delays),
    ):
        values.sort()
        p50, p95 = statistics.median(values), statistics.quantiles(values, n=20)[18]
        print(f"| {label} | {p50:.1f} | {p95:.1f} | {values[-1]:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--speed", type=float, default=6.0)
    parser.add_argument("--latency-seconds", type=float, default=300.0)
    parser.add_argument("--symbols", default=LATENCY_SYMBOLS)
    parser.add_argument("--run-launcher", choices=RUN_LAUNCHERS, default="fork")
    parser.add_argument(
        "--flush-seconds",
        type=float,
        default=WriterConfig().flush_seconds,
        help="the writer's micro-batch",
    )
    args = parser.parse_args()
    cluster = Producer({"test.mock.num.brokers": 1, "log_level": 2})
    brokers = cluster.list_topics(timeout=10).brokers.values()
    bootstrap = ",".join(f"{broker.host}:{broker.port}" for broker in brokers)
    print(f"{machine_description()}; {load_average()}")
    throughput(bootstrap, args.days)
    print(load_average())
    signal_latency(
        bootstrap,
        args.symbols.split(","),
        args.speed,
        args.latency_seconds,
        args.run_launcher,
        args.flush_seconds,
    )
    print(f"run launcher {args.run_launcher}; at the end {load_average()}")
    cluster.close()


if __name__ == "__main__":
    main()
