"""Helpers of the streaming tests: produce raw messages, read topics and landing files back."""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pandas as pd
import pyarrow.parquet as pq
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from fin_assets.analytics import simulator
from fin_assets.resources.lake import ParquetLake
from fin_assets.streaming.messages import Quote, encode_quote
from fin_assets.streaming.publisher import bar_quotes
from fin_assets.universe import Symbol

SEED = 42

TIMEOUT_SECONDS = 30.0
READER_CONFIG = {
    "auto.offset.reset": "earliest",
    # Tansu answers a new member's JoinGroup after about half the session timeout.
    "session.timeout.ms": 3_000,
    "heartbeat.interval.ms": 500,
}
"""Consumer settings of the test readers (add bootstrap.servers and group.id)."""


def produce(
    bootstrap: str,
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes]],
    partition: int | None = 0,
) -> None:
    """Produce (key, value) pairs in order to one partition (None: the key's partition, as the
    publisher does) and wait for all of them."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    target = {} if partition is None else {"partition": partition}
    for key, value in messages:
        producer.produce(topic, key=key, value=value, **target)
    assert producer.flush(TIMEOUT_SECONDS) == 0
    producer.close()


def quote_messages(quotes: Iterable[Quote]) -> list[tuple[bytes, bytes]]:
    return [(quote.symbol.encode(), encode_quote(quote)) for quote in quotes]


@dataclass(frozen=True)
class Received:
    key: bytes | None
    value: bytes
    headers: dict[str, str]


def read_topic(
    bootstrap: str,
    topic: str,
    count: int,
    timeout: float = TIMEOUT_SECONDS,
    then_idle: float = 0.0,
) -> list[Received]:
    """Exactly the first `count` messages of `topic` (all partitions), by (partition, offset);
    fails when `timeout` seconds pass without a message, or when another message arrives within
    `then_idle` seconds after them (a count that does not trust the broker's end offsets)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "test-reader", **READER_CONFIG}
    )
    consumer.subscribe([topic])
    found = []
    try:
        while len(found) < count:
            message = consumer.poll(timeout)
            assert message is not None, f"only {len(found)} of {count} messages on {topic}"
            error = message.error()
            if error is not None and error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                continue  # not created yet: the first message creates it
            assert error is None, error
            found.append(message)
        extra = consumer.poll(then_idle) if then_idle else None
        assert extra is None, f"more than {count} messages on {topic}"
    finally:
        consumer.close()
    found.sort(key=lambda message: (message.partition(), message.offset()))
    return [
        Received(m.key(), m.value(), {k: v.decode() for k, v in m.headers() or []}) for m in found
    ]


def end_offsets(bootstrap: str, topic: str, partitions: int = 4) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-reader"})
    try:
        tps = [TopicPartition(topic, number) for number in range(partitions)]
        return {tp.partition: consumer.get_watermark_offsets(tp, TIMEOUT_SECONDS)[1] for tp in tps}
    finally:
        consumer.close()


def committed(bootstrap: str, topic: str, group: str, partitions: int = 4) -> list[TopicPartition]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        tps = [TopicPartition(topic, number) for number in range(partitions)]
        return consumer.committed(tps, timeout=TIMEOUT_SECONDS)
    finally:
        consumer.close()


def expected_bars(symbols: Iterable[Symbol], day: date, seed: int = SEED) -> pd.DataFrame:
    """The simulator's bars of `day`, volume being the exact sum of the published trade sizes."""
    frames = []
    for symbol in symbols:
        bars = simulator.simulate_intraday(seed, symbol, day)
        trades = [q for q in bar_quotes(symbol, bars) if q.type == "trade"]
        sizes = pd.DataFrame({"minute": [q.ts - q.ts % 60_000 for q in trades]}).assign(
            size=[q.size for q in trades]
        )
        volume = sizes.groupby("minute")["size"].agg(math.fsum)
        minutes = pd.DatetimeIndex(bars["ts"]).as_unit("ms").asi8
        frames.append(bars.assign(volume=volume.loc[minutes].to_numpy(), symbol=symbol.symbol))
    return pd.concat(frames, ignore_index=True)


def landing_rows(lake: ParquetLake) -> pd.DataFrame:
    """Every row of every landing file, with its symbol, date and file name."""
    frames = []
    for key in lake.list_objects("landing"):
        _, symbol, day, name = key.split("/")
        table = pq.read_table(f"{lake.root}/{key}")
        frames.append(table.to_pandas().assign(symbol=symbol, trade_date=day, file=name))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def assert_lands_exactly(lake: ParquetLake, expected: pd.DataFrame, day: date) -> pd.DataFrame:
    """The landing files hold each expected bar (all of trade date `day`) once, in a file of
    its symbol and date; returns the landed rows."""
    rows = landing_rows(lake)
    assert not rows.duplicated(["symbol", "ts"]).any()
    assert (rows["trade_date"] == day.isoformat()).all()
    landed = rows.sort_values(["symbol", "ts"]).reset_index(drop=True)
    want = expected.sort_values(["symbol", "ts"]).reset_index(drop=True)
    assert landed["symbol"].tolist() == want["symbol"].tolist()
    assert landed["ts"].tolist() == want["ts"].tolist()
    for column in ("open", "high", "low", "close", "volume"):
        assert landed[column].tolist() == want[column].tolist(), column
    return rows
