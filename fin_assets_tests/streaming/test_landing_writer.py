"""The landing writer against a real broker (librdkafka's mock cluster, over TCP)."""

import json
import re
from datetime import date
from itertools import pairwise
from pathlib import Path

import pandas as pd
import pytest

from fin_assets.analytics import simulator
from fin_assets.resources.lake import ParquetLake
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.landing_writer import LandingWriter, WriterConfig
from fin_assets.streaming.messages import Quote, encode_quote
from fin_assets.streaming.publisher import QuotePublisher, bar_quotes, replay_day
from fin_assets.universe import load_universe
from fin_assets_tests.streaming.streams import (
    SEED,
    assert_lands_exactly,
    committed,
    expected_bars,
    produce,
    quote_messages,
    read_topic,
)

UNIVERSE = {symbol.symbol: symbol for symbol in load_universe()}
DAY = date(2025, 6, 2)
SESSION_TIMEOUT_MS = 3_000
"""The mock cluster ignores LeaveGroup: a restarted writer waits for the old session to expire."""
FILE_NAME = re.compile(r"quotes-(\d)-(\d+)-(\d+)\.parquet")


def run_writer(kafka: KafkaSettings, lake: ParquetLake, **config: object) -> LandingWriter:
    config = {"until_caught_up": True, "session_timeout_ms": SESSION_TIMEOUT_MS} | config
    writer = LandingWriter(kafka, lake, WriterConfig(**config))
    writer.run(install_signal_handlers=False)
    return writer


def test_a_published_day_lands_as_exactly_the_simulated_bars(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    kafka = KafkaSettings(kafka_bootstrap)
    symbols = [UNIVERSE[t] for t in ("AAPL", "SPY", "BTC")]
    published = replay_day(QuotePublisher(kafka), SEED, symbols, DAY, speed=0)
    assert published == 5 * (390 + 390 + 1440)
    lake = ParquetLake(str(tmp_path / "lake"))

    writer = run_writer(kafka, lake, group="landing", flush_messages=2_000)

    rows = assert_lands_exactly(lake, expected_bars(symbols, DAY), DAY)
    assert writer.stats.messages == published
    assert (writer.stats.dead_letters, writer.stats.replayed) == (0, 0)
    assert writer.stats.bars == 390 + 390 + 1440
    ranges: dict[int, set[tuple[int, int]]] = {}
    for name in rows["file"].unique():
        partition, first, last = map(int, FILE_NAME.fullmatch(name).groups())
        ranges.setdefault(partition, set()).add((first, last))
    assert len(rows["file"].unique()) > 3  # several flushes
    ends = {}
    for partition, spans in ranges.items():
        ordered = sorted(spans)
        assert ordered[0][0] == 0
        assert all(a[1] + 1 == b[0] for a, b in pairwise(ordered))
        ends[partition] = ordered[-1][1] + 1
    # Every minute closed (heartbeats), so every consumed offset is committed.
    offsets = {tp.partition: tp.offset for tp in committed(kafka_bootstrap, "quotes", "landing")}
    assert {p: offsets[p] for p in ends} == ends
    assert sum(ends.values()) == published


def test_poison_and_late_messages_go_to_the_dead_letter_topic_and_the_stream_flows(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    aapl = UNIVERSE["AAPL"]
    bars = simulator.simulate_intraday(SEED, aapl, DAY).head(3)
    quotes = bar_quotes(aapl, bars)  # 3 minutes: 4 trades + 1 heartbeat each
    first_minute = int(pd.Timestamp(bars["ts"].iloc[0]).timestamp() * 1000)
    late = Quote("trade", "AAPL", first_minute + 30_000, 1.0, 5.0)
    poison = [
        (b"AAPL", b"not json"),
        (b"DOGE", encode_quote(Quote("trade", "DOGE", first_minute, 1.0, 1.0))),
        (b"MSFT", encode_quote(Quote("trade", "AAPL", first_minute, 1.0, 1.0))),
        (b"AAPL", encode_quote(late)),
    ]
    messages = quote_messages(quotes)
    # Poison after the first minute's heartbeat (offset 5), so `late` arrives after it closed.
    stream = messages[:5] + poison + messages[5:]
    produce(kafka_bootstrap, "quotes", stream)
    kafka = KafkaSettings(kafka_bootstrap)
    lake = ParquetLake(str(tmp_path / "lake"))

    writer = run_writer(kafka, lake, group="landing")

    assert writer.stats.dead_letters == 4
    dead = sorted(read_topic(kafka_bootstrap, "quotes.dlq", 4), key=lambda d: d.headers["offset"])
    assert [(d.key, d.value) for d in dead] == poison
    assert [d.headers["offset"] for d in dead] == ["5", "6", "7", "8"]
    assert {(d.headers["topic"], d.headers["partition"]) for d in dead} == {("quotes", "0")}
    reasons = [d.headers["reason"] for d in dead]
    assert reasons[0].startswith("not UTF-8 JSON")
    assert reasons[1] == "symbol 'DOGE' is not in the universe"
    assert reasons[2] == "message key b'MSFT' is not the symbol 'AAPL'"
    assert reasons[3] == (
        f"late: minute {first_minute} of AAPL closed at watermark {first_minute + 60_000}"
    )
    assert_lands_exactly(lake, expected_bars([aapl], DAY).head(3), DAY)


def test_a_restart_resumes_from_the_committed_offsets_inside_an_open_minute(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    btc = UNIVERSE["BTC"]
    bars = simulator.simulate_intraday(SEED, btc, DAY).head(20)
    messages = quote_messages(bar_quotes(btc, bars))
    cut = 5 * 12 + 2  # 12 complete minutes, then 2 trades of the 13th
    kafka = KafkaSettings(kafka_bootstrap)
    lake = ParquetLake(str(tmp_path / "lake"))
    produce(kafka_bootstrap, "quotes", messages[:cut])

    first = run_writer(kafka, lake, group="landing")

    assert (first.stats.messages, first.stats.bars) == (cut, 12)
    [state] = [tp for tp in committed(kafka_bootstrap, "quotes", "landing") if tp.offset >= 0]
    assert state.offset == 5 * 12  # the open minute's first trade
    assert json.loads(state.metadata)["processed"] == cut
    produce(kafka_bootstrap, "quotes", messages[cut:])

    second = run_writer(kafka, lake, group="landing")

    assert (second.stats.messages, second.stats.replayed, second.stats.bars) == (
        len(messages) - 5 * 12,
        2,
        8,
    )
    rows = assert_lands_exactly(lake, expected_bars([btc], DAY).head(20), DAY)
    assert sorted(rows["file"].unique()) == [
        f"quotes-0-0-{cut - 1}.parquet",
        f"quotes-0-{cut}-{len(messages) - 1}.parquet",
    ]


def test_an_interrupted_flush_is_rewritten_identically_after_the_restart(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    aapl, spy = UNIVERSE["AAPL"], UNIVERSE["SPY"]
    head = {s.symbol: simulator.simulate_intraday(SEED, s, DAY).head(30) for s in (aapl, spy)}
    messages = quote_messages(bar_quotes(aapl, head["AAPL"]) + bar_quotes(spy, head["SPY"]))
    produce(kafka_bootstrap, "quotes", messages)
    kafka = KafkaSettings(kafka_bootstrap)
    lake = ParquetLake(str(tmp_path / "lake"))
    blocker = tmp_path / "lake" / "landing" / "SPY"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where SPY's folder should be: the flush fails after AAPL's file")

    with pytest.raises(OSError):
        run_writer(kafka, lake, group="landing")

    name = f"quotes-0-0-{len(messages) - 1}.parquet"
    aapl_file = tmp_path / "lake" / "landing" / "AAPL" / DAY.isoformat() / name
    written = aapl_file.read_bytes()
    [state] = [tp for tp in committed(kafka_bootstrap, "quotes", "landing") if tp.offset >= 0]
    assert state.offset == 0
    assert json.loads(state.metadata) == {
        "v": 1,
        "lateness_ms": 10_000,
        "processed": 0,
        "pending": len(messages) - 1,
        "clocks": {},
    }
    blocker.unlink()

    writer = run_writer(kafka, lake, group="landing")

    assert writer.stats.replayed == 0
    assert aapl_file.read_bytes() == written
    expected = expected_bars([aapl, spy], DAY).groupby("symbol").head(30)
    rows = assert_lands_exactly(lake, expected, DAY)
    assert set(rows["file"]) == {name}
    [state] = [tp for tp in committed(kafka_bootstrap, "quotes", "landing") if tp.offset >= 0]
    assert state.offset == len(messages)
    assert json.loads(state.metadata)["pending"] is None
