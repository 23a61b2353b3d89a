"""Where a landing-writer consumer group stands: committed offsets, lag and event-time clocks.

Read from the broker alone (OffsetFetch and ListOffsets; the reader does not join the group):
the committed offset of each partition of the topic, its end offset, and the writer's commit
metadata (landing_writer.PartitionState.metadata), whose per-symbol watermark says up to which
event time the symbol's minutes are closed and landed; and the dead letters the writers have
produced: the end offsets of the dead-letter topic `{topic}.dlq` summed (messages written to it
since it was created; 0 while it does not exist).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition

from fin_assets.streaming.kafka_config import KafkaSettings, dead_letter_topic
from fin_assets.streaming.minute_bars import SymbolClock

TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class PartitionStatus:
    """One partition: `committed` is -1 before the group's first commit."""

    partition: int
    committed: int
    end: int
    lag: int


@dataclass(frozen=True)
class GroupStatus:
    """The group's partitions and, per symbol, the event time through which bars are landed."""

    topic: str
    group: str
    partitions: list[PartitionStatus]
    watermarks_ms: dict[str, int]
    dead_letters: int

    @property
    def lag(self) -> int:
        return sum(p.lag for p in self.partitions)

    @property
    def committed(self) -> int:
        """Messages of the topic before the committed offsets (commit progress)."""
        return sum(max(p.committed, 0) for p in self.partitions)


def group_status(kafka: KafkaSettings, group: str) -> GroupStatus:
    """The status of `group` on `kafka.topic` (watermarks with the lateness in the metadata)."""
    consumer = Consumer(kafka.client_config({"group.id": group, "enable.auto.commit": False}))
    try:
        topic = consumer.list_topics(kafka.topic, timeout=TIMEOUT_SECONDS).topics[kafka.topic]
        if topic.error is not None:
            raise ValueError(f"topic {kafka.topic!r}: {topic.error}")
        tps = [TopicPartition(kafka.topic, number) for number in sorted(topic.partitions)]
        committed = consumer.committed(tps, timeout=TIMEOUT_SECONDS)
        partitions, watermarks = [], {}
        for tp in committed:
            low, end = consumer.get_watermark_offsets(tp, timeout=TIMEOUT_SECONDS)
            position = tp.offset if tp.offset >= 0 else low
            partitions.append(PartitionStatus(tp.partition, tp.offset, end, end - position))
            if tp.offset >= 0 and tp.metadata:
                state = json.loads(tp.metadata)
                for symbol, (trade, heartbeat) in state["clocks"].items():
                    clock = SymbolClock(trade, heartbeat)
                    watermarks[symbol] = clock.watermark(state["lateness_ms"])
        dead_letters = produced_messages(consumer, dead_letter_topic(kafka.topic))
    finally:
        consumer.close()
    return GroupStatus(
        kafka.topic, group, partitions, dict(sorted(watermarks.items())), dead_letters
    )


def produced_messages(consumer: Consumer, topic: str) -> int:
    """Messages ever written to `topic`: its partitions' end offsets summed (0 when the topic
    does not exist)."""
    metadata = consumer.list_topics(topic, timeout=TIMEOUT_SECONDS).topics.get(topic)
    if metadata is None or metadata.error is not None:
        return 0
    return sum(
        consumer.get_watermark_offsets(TopicPartition(topic, number), timeout=TIMEOUT_SECONDS)[1]
        for number in metadata.partitions
    )
