"""`fin-assets stream land` as a process: SIGTERM flushes and commits; SIGKILL loses nothing."""

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from fin_assets.analytics import simulator
from fin_assets.resources.lake import ParquetLake
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.publisher import QuotePublisher, bar_quotes, merge_by_time, replay_day
from fin_assets.universe import load_universe
from fin_assets_tests.streaming.streams import (
    SEED,
    assert_lands_exactly,
    committed,
    end_offsets,
    expected_bars,
    produce,
    read_topic,
)

UNIVERSE = {symbol.symbol: symbol for symbol in load_universe()}
DAY = date(2025, 6, 2)
PROCESS_TIMEOUT_SECONDS = 300
"""Generous: on a loaded 2-core machine importing the CLI alone can take a minute."""
READY_LINE = "resumes at offset"

Writer = Callable[..., subprocess.Popen]


@pytest.fixture
def start_writer(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Writer]:
    """Starts `fin-assets stream land` processes logging to tmp_path/writer.log; kills any
    still running at teardown."""
    started: list[subprocess.Popen] = []
    env = os.environ | {
        "FIN_HOME": str(tmp_path),
        "FIN_LAKE_URL": str(tmp_path / "lake"),
        "FIN_KAFKA_BOOTSTRAP": kafka_bootstrap,
    }
    command = [sys.executable, "-m", "fin_assets.cli", "stream", "land", "--group", "landing"]

    def start(*options: str) -> subprocess.Popen:
        with (tmp_path / "writer.log").open("a") as sink:
            process = subprocess.Popen(
                [*command, "--session-timeout-ms", "3000", *options],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def log_text(tmp_path: Path) -> str:
    log = tmp_path / "writer.log"
    return log.read_text() if log.exists() else ""


def wait_for_more(tmp_path: Path, text: str, seen: int, process: subprocess.Popen) -> None:
    """Block until the log holds `text` more than `seen` times (the process staying alive)."""
    deadline = time.monotonic() + PROCESS_TIMEOUT_SECONDS
    while log_text(tmp_path).count(text) <= seen:
        assert process.poll() is None, log_text(tmp_path)
        assert time.monotonic() < deadline, log_text(tmp_path)
        time.sleep(0.05)


def assert_all_committed(bootstrap: str) -> None:
    ends = {p: end for p, end in end_offsets(bootstrap, "quotes").items() if end}
    offsets = {tp.partition: tp.offset for tp in committed(bootstrap, "quotes", "landing")}
    assert {p: offsets[p] for p in ends} == ends


@pytest.mark.slow
def test_sigterm_flushes_the_open_batch_and_commits(
    kafka_bootstrap: str, tmp_path: Path, start_writer: Writer
) -> None:
    symbols = ["AAPL", "BTC"]
    kafka = KafkaSettings(kafka_bootstrap)
    replay_day(QuotePublisher(kafka), SEED, [UNIVERSE[s] for s in symbols], DAY, speed=0)
    # One poison marker last in each symbol's partition: once both reached the dead-letter
    # topic, the writer has consumed everything before them.
    produce(kafka_bootstrap, "quotes", [(s.encode(), b"end marker") for s in symbols], None)
    writer = start_writer("--flush-seconds", "3600", "--flush-messages", "1000000")
    read_topic(kafka_bootstrap, "quotes.dlq", 2, timeout=PROCESS_TIMEOUT_SECONDS)
    lake = ParquetLake(str(tmp_path / "lake"))
    assert lake.list_objects("landing") == []  # nothing flushed yet

    writer.send_signal(signal.SIGTERM)

    assert writer.wait(PROCESS_TIMEOUT_SECONDS) == 0, log_text(tmp_path)
    assert "signal 15 received, flushing and committing" in log_text(tmp_path)
    assert_lands_exactly(lake, expected_bars([UNIVERSE[s] for s in symbols], DAY), DAY)
    assert len(lake.list_objects("landing")) == 2  # one flush: one file per symbol
    assert_all_committed(kafka_bootstrap)


@pytest.mark.slow
def test_sigkill_at_random_points_then_restart_lands_every_minute_once(
    kafka_bootstrap: str, tmp_path: Path, start_writer: Writer
) -> None:
    symbols = ["AAPL", "SPY", "BTC"]
    streams = [
        bar_quotes(UNIVERSE[s], simulator.simulate_intraday(SEED, UNIVERSE[s], DAY))
        for s in symbols
    ]
    stream = list(merge_by_time(streams))
    kills = 4
    bounds = [i * len(stream) // (kills + 1) for i in range(kills + 2)]
    publisher = QuotePublisher(KafkaSettings(kafka_bootstrap))
    flushes = ("--flush-seconds", "0.2", "--flush-messages", "300")
    pauses = random.Random(7)
    for run in range(kills):
        for quote in stream[bounds[run] : bounds[run + 1]]:
            publisher.publish(quote)
        publisher.flush()
        seen = log_text(tmp_path).count(READY_LINE)
        writer = start_writer(*flushes)
        wait_for_more(tmp_path, READY_LINE, seen, writer)  # consuming this run's messages
        time.sleep(pauses.uniform(0.0, 1.0))
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(PROCESS_TIMEOUT_SECONDS) == -signal.SIGKILL
    for quote in stream[bounds[kills] :]:
        publisher.publish(quote)
    publisher.close()

    writer = start_writer(*flushes, "--until-caught-up")

    assert writer.wait(PROCESS_TIMEOUT_SECONDS) == 0, log_text(tmp_path)
    lake = ParquetLake(str(tmp_path / "lake"))
    assert_lands_exactly(lake, expected_bars([UNIVERSE[s] for s in symbols], DAY), DAY)
    assert_all_committed(kafka_bootstrap)
