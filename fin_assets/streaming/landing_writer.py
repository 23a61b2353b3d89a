"""The landing writer: consume quotes, land closed one-minute bars, commit only what is durable.

Delivery: at-least-once from Kafka, made exactly-once in the lake by determinism. Per partition:

1. Messages are applied in offset order to a PartitionBars (the watermark rule of minute_bars).
   Rejected messages (schema, unknown symbol, outside a session, late) are produced to the
   dead-letter topic with headers `reason`, `topic`, `partition`, `offset`.
2. A flush (every `flush_seconds`, every `flush_messages` messages, on SIGTERM/SIGINT and on
   partition revocation) takes the minutes closed since the previous flush, whose consumed
   offset range is [first, last]:
   a. if any, it first commits the UNCHANGED offset with the previous state plus
      `pending = last` (an intent record),
   b. writes one Parquet file per (symbol, trade date) under the deterministic key
      landing/{SYMBOL}/{date}/{topic}-{partition}-{first}-{last}.parquet and waits for the
      dead-letter producer,
   c. commits offset C = the smallest offset of a trade still in an open minute (or last + 1)
      with the new state as commit metadata (JSON, see PartitionState.metadata).
3. After a restart (or rebalance) consumption resumes at C. Messages below the committed
   `processed` mark were handled before: they rebuild the open minutes and are never dead-lettered
   again. If an intent `pending = last` was recorded, that partition flushes exactly when it
   reaches `last` again, which rewrites the same keys with the same bytes.

So a minute is written to exactly one key, however often the writer is killed, and a crash
never loses a trade (its offset is not committed until its minute is in a durable file). Dead
letters are at-least-once: ones produced after the last commit are produced again on replay.
Kafka's default offset.metadata.max.bytes (4096) bounds the state to ~100 symbols per partition.

The protocol needs a broker that keeps the metadata committed with an offset (Apache Kafka,
Amazon MSK and librdkafka's mock cluster do; Tansu 0.6 drops it). The first commit of each
partition is read back, and a broker that lost the metadata stops the writer
(CommitMetadataDroppedError) before any landing file is written.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import FrameType

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from fin_assets.resources.lake import ParquetLake
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.landing_files import write_landing_files
from fin_assets.streaming.messages import InvalidMessageError, decode_quote
from fin_assets.streaming.minute_bars import ClosedBar, PartitionBars, SymbolClock
from fin_assets.universe import Symbol, load_universe

log = logging.getLogger(__name__)

STATE_VERSION = 1
DEFAULT_GROUP = "fin-landing-writer"
DEFAULT_FLUSH_SECONDS = 5.0
DEFAULT_FLUSH_MESSAGES = 100_000
DEFAULT_LATENESS_MS = 10_000
DEFAULT_SESSION_TIMEOUT_MS = 45_000
POLL_BATCH = 2_000
POLL_SECONDS = 0.5
KAFKA_TIMEOUT_SECONDS = 30.0


class StateMismatchError(ValueError):
    """The committed state was written under settings this writer does not have."""


class CommitMetadataDroppedError(RuntimeError):
    """The broker did not keep the metadata of a commit: a restart could not resume exactly."""


@dataclass(frozen=True)
class WriterConfig:
    """How the writer batches and closes minutes (defaults: 30 s or 100,000 messages, 10 s)."""

    group: str = DEFAULT_GROUP
    flush_seconds: float = DEFAULT_FLUSH_SECONDS
    flush_messages: int = DEFAULT_FLUSH_MESSAGES
    lateness_ms: int = DEFAULT_LATENESS_MS
    session_timeout_ms: int = DEFAULT_SESSION_TIMEOUT_MS
    """How long the group waits for a silent (killed) writer before reassigning its partitions."""
    until_caught_up: bool = False
    """Stop (flushing and committing) once every assigned partition reached its end."""


@dataclass
class WriterStats:
    """Counters since the writer started."""

    messages: int = 0
    replayed: int = 0
    dead_letters: int = 0
    bars: int = 0
    files: int = 0
    flushes: int = 0


@dataclass
class PartitionState:
    """One partition's event-time state and offsets."""

    bars: PartitionBars
    processed: int
    """Next offset after the last message applied."""
    flushed: int
    """First offset not covered by a flush (the `first` of the next file name)."""
    replay_until: int
    """Messages below this offset were handled by an earlier run."""
    pending: int | None
    """Last offset of a flush that was started but not committed (the intent record)."""
    closed: list[ClosedBar]
    """Bars closed since the last successful flush."""
    committed_offset: int
    committed_metadata: str

    def metadata(self, pending: int | None) -> str:
        """The commit metadata: {"v", "lateness_ms", "processed", "pending", "clocks":
        {symbol: [highest trade ts, highest heartbeat ts]}}."""
        clocks = {s: [c.trade, c.heartbeat] for s, c in sorted(self.bars.clocks.items())}
        document = {
            "v": STATE_VERSION,
            "lateness_ms": self.bars.lateness_ms,
            "processed": self.processed,
            "pending": pending,
            "clocks": clocks,
        }
        return json.dumps(document, separators=(",", ":"))

    @classmethod
    def restore(
        cls, metadata: str, offset: int, lateness_ms: int, universe: Mapping[str, Symbol]
    ) -> PartitionState:
        """The state committed at `offset` with `metadata` (empty: a fresh partition)."""
        if not metadata:
            bars = PartitionBars(lateness_ms, universe)
            state = cls(bars, offset, offset, offset, None, [], offset, "")
            state.committed_metadata = state.metadata(pending=None)
            return state
        document = json.loads(metadata)
        if document.get("v") != STATE_VERSION:
            raise StateMismatchError(f"committed state version {document.get('v')!r} unknown")
        if document["lateness_ms"] != lateness_ms:
            raise StateMismatchError(
                f"the committed state uses an allowed lateness of {document['lateness_ms']} ms, "
                f"not {lateness_ms} ms: restart with that lateness or use a new consumer group"
            )
        clocks = {s: SymbolClock(trade, beat) for s, (trade, beat) in document["clocks"].items()}
        mark = document["processed"]
        bars = PartitionBars(lateness_ms, universe, clocks)
        return cls(bars, offset, mark, mark, document["pending"], [], offset, metadata)


class LandingWriter:
    """The consumer loop of the module docstring (one instance per process)."""

    def __init__(self, kafka: KafkaSettings, lake: ParquetLake, config: WriterConfig) -> None:
        self.kafka, self.lake, self.config = kafka, lake, config
        self.universe = {symbol.symbol: symbol for symbol in load_universe()}
        self.stats = WriterStats()
        self.partitions: dict[int, PartitionState] = {}
        self._metadata_verified: set[int] = set()
        self._stopping = False
        self._failed = False
        self._delivery_errors: list[str] = []
        self._consumer = Consumer(
            kafka.client_config(
                {
                    "group.id": config.group,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "enable.auto.offset.store": False,
                    "session.timeout.ms": config.session_timeout_ms,
                    "heartbeat.interval.ms": max(config.session_timeout_ms // 6, 100),
                }
            )
        )
        self._dead_letters = Producer(kafka.client_config({"acks": "all", "linger.ms": 50}))
        self._since_flush = 0
        self._last_flush = time.monotonic()
        self._last_report = (time.monotonic(), 0)

    def stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        """Ask the loop to flush, commit and return (the SIGTERM / SIGINT handler)."""
        if signum is not None:
            log.info("stream land: signal %s received, flushing and committing", signum)
        self._stopping = True

    def run(self, install_signal_handlers: bool = True) -> WriterStats:
        """Consume until stopped (or caught up); the last flush commits everything closed."""
        if install_signal_handlers:
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        self._consumer.subscribe([self.kafka.topic], on_revoke=self._on_revoke)
        log.info(
            "stream land: topic %s group %s → %s (flush every %ss or %s messages, lateness %s ms)",
            self.kafka.topic,
            self.config.group,
            self.lake.uri(self.lake.root),
            self.config.flush_seconds,
            self.config.flush_messages,
            self.config.lateness_ms,
        )
        try:
            while not self._stopping:
                messages = self._consumer.consume(POLL_BATCH, POLL_SECONDS)
                for message in messages:
                    self._apply(message)
                due = time.monotonic() - self._last_flush >= self.config.flush_seconds
                if due or self._since_flush >= self.config.flush_messages:
                    self.flush(list(self.partitions))
                if not messages and self.config.until_caught_up and self._caught_up():
                    self._stopping = True
            self.flush(list(self.partitions))
        except BaseException:
            self._failed = True  # commit nothing more, not even on the revocation in close()
            raise
        finally:
            self._consumer.close()
            self._dead_letters.close()
        return self.stats

    def _apply(self, message: Message) -> None:
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return
            if error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                log.warning("stream land: waiting for the topic: %s", error.str())
                return
            raise KafkaException(error)
        partition, offset = message.partition(), message.offset()
        state = self.partitions.get(partition) or self._restore(partition, offset)
        replayed = offset < state.replay_until
        try:
            reason = state.bars.add(decode_quote(message.key(), message.value()), offset)
        except InvalidMessageError as invalid:
            reason = str(invalid)
        if reason is not None and not replayed:
            self._dead_letter(message, reason)
        state.processed = offset + 1
        self.stats.messages += 1
        self.stats.replayed += replayed
        self._since_flush += 1
        if state.pending is not None and offset >= state.pending:
            self._flush_partition(partition, state)

    def _restore(self, partition: int, offset: int) -> PartitionState:
        """State of a newly consumed partition from its committed offset and metadata."""
        tp = TopicPartition(self.kafka.topic, partition)
        [committed] = self._consumer.committed([tp], timeout=KAFKA_TIMEOUT_SECONDS)
        has_commit = committed.offset >= 0
        start = committed.offset if has_commit else offset
        state = PartitionState.restore(
            (committed.metadata or "") if has_commit else "",
            start,
            self.config.lateness_ms,
            self.universe,
        )
        log.info(
            "stream land: partition %s resumes at offset %s (handled through %s, %s)",
            partition,
            start,
            state.replay_until - 1,
            "no flush unfinished" if state.pending is None else f"rewrites flush ..{state.pending}",
        )
        self.partitions[partition] = state
        return state

    def _dead_letter(self, message: Message, reason: str) -> None:
        headers = {
            "reason": reason,
            "topic": message.topic(),
            "partition": str(message.partition()),
            "offset": str(message.offset()),
        }
        self._dead_letters.produce(
            self.kafka.dead_letter_topic,
            key=message.key(),
            value=message.value(),
            headers=headers,
            on_delivery=self._on_delivery,
        )
        self._dead_letters.poll(0)
        self.stats.dead_letters += 1

    def _on_delivery(self, error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            self._delivery_errors.append(str(error))

    def _on_revoke(self, _consumer: Consumer, revoked: list[TopicPartition]) -> None:
        numbers = [tp.partition for tp in revoked if tp.partition in self.partitions]
        if not self._failed:
            self.flush(numbers)
        for number in numbers:
            del self.partitions[number]

    def flush(self, partitions: list[int]) -> None:
        """Flush and commit the given partitions (those waiting to reach an intent are skipped)."""
        for number in sorted(partitions):
            state = self.partitions[number]
            if state.pending is None:
                self._flush_partition(number, state)
        self._since_flush = 0
        self._last_flush = time.monotonic()
        self._report()

    def _flush_partition(self, number: int, state: PartitionState) -> None:
        first, last = state.flushed, state.processed - 1
        if last < first:
            return
        state.closed += state.bars.take_closed()
        closed = state.closed
        if closed:
            if state.pending is None:
                # The intent: the unchanged offset and state, plus `pending`.
                intent = json.loads(state.committed_metadata) | {"pending": last}
                metadata = json.dumps(intent, separators=(",", ":"))
                self._commit(number, state.committed_offset, metadata)
            keys = write_landing_files(self.lake, closed, self.kafka.topic, number, first, last)
            self.stats.files += len(keys)
            self.stats.bars += len(closed)
        self._wait_for_dead_letters()
        open_offset = state.bars.min_open_offset()
        offset = state.processed if open_offset is None else open_offset
        state.closed = []
        state.pending = None
        state.committed_metadata = state.metadata(pending=None)
        self._commit(number, offset, state.committed_metadata)
        state.committed_offset = offset
        state.flushed = state.processed
        self.stats.flushes += 1

    def _commit(self, number: int, offset: int, metadata: str) -> None:
        tp = TopicPartition(self.kafka.topic, number, offset, metadata=metadata)
        [result] = self._consumer.commit(offsets=[tp], asynchronous=False)
        if result.error is not None:
            raise KafkaException(result.error)
        if number not in self._metadata_verified:
            self._verify_commit(tp)
            self._metadata_verified.add(number)

    def _verify_commit(self, sent: TopicPartition) -> None:
        """Read a commit back: its offset and metadata must be what was committed."""
        tp = TopicPartition(sent.topic, sent.partition)
        [stored] = self._consumer.committed([tp], timeout=KAFKA_TIMEOUT_SECONDS)
        if (stored.offset, stored.metadata) != (sent.offset, sent.metadata):
            raise CommitMetadataDroppedError(
                f"partition {sent.partition} of {sent.topic}: committed offset {sent.offset} with "
                f"{len(sent.metadata or '')} bytes of metadata, the broker returns offset "
                f"{stored.offset} with {stored.metadata!r}; the writer needs a broker that keeps "
                "commit metadata (its restart state), so it stops before writing anything"
            )

    def _wait_for_dead_letters(self) -> None:
        remaining = self._dead_letters.flush(KAFKA_TIMEOUT_SECONDS)
        if remaining or self._delivery_errors:
            errors, self._delivery_errors = self._delivery_errors, []
            raise RuntimeError(
                f"dead-letter topic {self.kafka.dead_letter_topic}: {remaining} undelivered, "
                f"errors {errors[:5]}; offsets not committed"
            )

    def _end_offset(self, tp: TopicPartition) -> tuple[int, int]:
        """(low, high) offsets of `tp`: the consumer's cached values, updated by every fetch
        response, else (before any fetch) asked from the broker."""
        low, high = self._consumer.get_watermark_offsets(tp, cached=True)
        if high < 0:
            low, high = self._consumer.get_watermark_offsets(tp, timeout=KAFKA_TIMEOUT_SECONDS)
        return low, high

    def lag(self) -> dict[int, int]:
        """Messages behind the end of each partition this writer consumes."""
        lags = {}
        for number, state in sorted(self.partitions.items()):
            _low, high = self._end_offset(TopicPartition(self.kafka.topic, number))
            lags[number] = max(high - state.processed, 0)
        return lags

    def _caught_up(self) -> bool:
        assignment = self._consumer.assignment()
        if not assignment:
            return False
        for tp in assignment:
            low, high = self._end_offset(tp)
            state = self.partitions.get(tp.partition)
            if state is not None:
                position = state.processed
            else:
                [committed] = self._consumer.committed([tp], timeout=KAFKA_TIMEOUT_SECONDS)
                position = max(committed.offset, low)
            if position < high:
                return False
        return True

    def _report(self) -> None:
        now = time.monotonic()
        since, messages = self._last_report
        rate = (self.stats.messages - messages) / max(now - since, 1e-9)
        self._last_report = (now, self.stats.messages)
        open_minutes = sum(s.bars.open_minutes() for s in self.partitions.values())
        log.info(
            "stream land: %d msgs (%.0f msg/s), %d bars in %d files, %d dead letters, "
            "%d open minutes, lag %s",
            self.stats.messages,
            rate,
            self.stats.bars,
            self.stats.files,
            self.stats.dead_letters,
            open_minutes,
            self.lag(),
        )
