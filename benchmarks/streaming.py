"""Streaming: publisher → landing writer throughput, and publish → landing-file latency.

Broker: librdkafka's mock cluster in this process (real Kafka protocol over TCP on 127.0.0.1).

1. Throughput. `--days` synthetic trading days of the whole universe are published as fast as
   possible (the publisher's msg/s), then consumed twice from the beginning, each time by a new
   consumer group: the baseline is a bare confluent-kafka consumer that only receives the
   messages; the landing writer (`--until-caught-up`, default flush settings) decodes,
   validates, aggregates and writes every landing file to a local lake and commits. Both
   include joining the group. "writer / bare" is the cost of the writer's work.
2. Latency. The writer runs as `fin-assets stream land` (a separate process, 30-s flushes)
   while the universe's session is replayed `--speed` times faster than real time for
   `--latency-seconds`. A minute's latency is from the publish of its closing heartbeat to the
   first time its landing file is seen in the lake (polled every 0.1 s): the minute-old data
   the landing sensor can pick up.

    python -m benchmarks.streaming --days 3 --speed 6 --latency-seconds 180
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from confluent_kafka import Consumer, Producer

from benchmarks.pipeline_stages import machine_description
from fin_assets.analytics import simulator
from fin_assets.analytics.market_calendar import sessions_in_range
from fin_assets.resources.lake import ParquetLake
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.landing_writer import LandingWriter, WriterConfig
from fin_assets.streaming.publisher import QuotePublisher, bar_quotes, merge_by_time, replay_day
from fin_assets.universe import load_universe

SEED = 42
FIRST_DAY = date(2025, 6, 2)
SESSION_OPEN = pd.Timestamp("2025-06-02 13:30", tz="UTC")


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


def watch_lake(lake_dir: Path, seen: dict[Path, float], stop: threading.Event) -> None:
    while not stop.is_set():
        for path in lake_dir.rglob("*.parquet"):
            seen.setdefault(path, time.monotonic())
        time.sleep(0.1)


def latency(bootstrap: str, speed: float, seconds: float) -> None:
    symbols = list(load_universe())
    minutes = int(seconds * speed / 60)
    end = SESSION_OPEN + pd.Timedelta(minutes=minutes)
    streams = []
    for symbol in symbols:
        bars = simulator.simulate_intraday(SEED, symbol, FIRST_DAY)
        bars = bars[(bars["ts"] >= SESSION_OPEN) & (bars["ts"] < end)]
        streams.append(bar_quotes(symbol, bars))
    quotes = list(merge_by_time(streams))
    kafka = KafkaSettings(bootstrap, topic="latency")
    publisher = QuotePublisher(kafka)
    with tempfile.TemporaryDirectory() as home:
        lake_dir = Path(home) / "lake"
        lake_dir.mkdir()
        env = os.environ | {
            "FIN_HOME": home,
            "FIN_LAKE_URL": str(lake_dir),
            "FIN_KAFKA_BOOTSTRAP": bootstrap,
            "FIN_KAFKA_TOPIC": kafka.topic,
        }
        command = [sys.executable, "-m", "fin_assets.cli", "stream", "land", "--group", "lat"]
        log = Path(home) / "writer.log"
        with log.open("w") as sink:
            writer = subprocess.Popen(command, env=env, stderr=sink)
        # The clock starts once the writer has joined the group and consumed a first message.
        publisher.publish(quotes[0])
        publisher.flush()
        while "resumes at offset" not in log.read_text():
            assert writer.poll() is None, log.read_text()
            time.sleep(0.2)
        seen: dict[Path, float] = {}
        stop = threading.Event()
        watcher = threading.Thread(target=watch_lake, args=(lake_dir, seen, stop))
        watcher.start()
        closed_at: dict[tuple[str, int], float] = {}
        started, first_ts = time.monotonic(), quotes[1].ts
        for quote in quotes[1:]:
            delay = started + (quote.ts - first_ts) / 1000 / speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            publisher.publish(quote)
            if quote.type == "heartbeat":
                closed_at[(quote.symbol, quote.ts - 60_000)] = time.monotonic()
        publisher.close()
        time.sleep(35)  # one more flush interval
        writer.terminate()
        writer.wait()
        stop.set()
        watcher.join()
        landed: dict[tuple[str, int], float] = {}
        for path, at in seen.items():
            symbol = path.parent.parent.name
            for ts in pq.read_table(path).column("ts").cast("int64").to_pylist():
                landed[(symbol, ts)] = at
    delays = sorted(landed[key] - closed for key, closed in closed_at.items() if key in landed)
    missing = len(closed_at) - len(delays)
    p50, p95 = statistics.median(delays), statistics.quantiles(delays, n=20)[18]
    print(
        f"latency over {len(delays)} minute bars ({len(symbols)} symbols, {minutes} market "
        f"minutes at {speed}x, 30-s flushes; {missing} not landed): p50 {p50:.1f} s, "
        f"p95 {p95:.1f} s, max {delays[-1]:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--speed", type=float, default=6.0)
    parser.add_argument("--latency-seconds", type=float, default=180.0)
    args = parser.parse_args()
    cluster = Producer({"test.mock.num.brokers": 1, "log_level": 2})
    brokers = cluster.list_topics(timeout=10).brokers.values()
    bootstrap = ",".join(f"{broker.host}:{broker.port}" for broker in brokers)
    print(machine_description())
    throughput(bootstrap, args.days)
    latency(bootstrap, args.speed, args.latency_seconds)
    cluster.close()


if __name__ == "__main__":
    main()
