"""Publishers of the quote stream: a replay of the synthetic market and a poller of any source.

Both turn one-minute bars into trades (the stream carries trades, the writer rebuilds bars):
each bar becomes four trades, at +0 s (open), +15 s and +30 s (low then high for a bar that
closes at or above its open, high then low otherwise) and +45 s (close), whose sizes are three
quarters of the volume rounded down to the asset class's volume decimals and the remainder; then
a heartbeat at the bar's end (+60 s), the promise that the minute is complete. Aggregating the
trades of a minute gives back the bar's open, high, low and close exactly and its volume to the
rounding of the four sizes. Messages are keyed by symbol (messages.py).
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import date

import pandas as pd
from confluent_kafka import KafkaError, Message, Producer

from fin_assets.analytics import simulator
from fin_assets.resources.market_data import MarketDataResource, decode_payload
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.messages import Quote, encode_quote
from fin_assets.streaming.minute_bars import MINUTE_MS
from fin_assets.universe import Symbol

log = logging.getLogger(__name__)

TRADE_OFFSETS_MS = (0, 15_000, 30_000, 45_000)
FLUSH_TIMEOUT_SECONDS = 60.0


def bar_quotes(symbol: Symbol, bars: pd.DataFrame) -> list[Quote]:
    """The trades and heartbeats of `bars` (module docstring), in event-time order."""
    decimals = simulator.PROFILES[symbol.asset_class].volume_decimals
    scale = 10**decimals
    minutes = pd.DatetimeIndex(bars["ts"]).as_unit("ms").asi8.tolist()
    quotes = []
    columns = (bars[c].tolist() for c in ("open", "high", "low", "close", "volume"))
    for minute, open_, high, low, close, volume in zip(minutes, *columns, strict=True):
        quarter = math.floor(volume / 4 * scale) / scale
        sizes = (quarter, quarter, quarter, round(volume - 3 * quarter, decimals))
        middle = (low, high) if close >= open_ else (high, low)
        prices = (open_, *middle, close)
        for offset, price, size in zip(TRADE_OFFSETS_MS, prices, sizes, strict=True):
            quotes.append(Quote("trade", symbol.symbol, minute + offset, price, size))
        quotes.append(Quote("heartbeat", symbol.symbol, minute + MINUTE_MS))
    return quotes


def merge_by_time(streams: Iterable[list[Quote]]) -> Iterator[Quote]:
    """One stream in event-time order (ties keep the order of `streams`)."""
    return heapq.merge(*streams, key=lambda quote: quote.ts)


class QuotePublisher:
    """A Kafka producer of encoded quotes keyed by symbol; `close` raises if any was lost."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.topic = kafka.topic
        self._producer = Producer(
            kafka.client_config({"acks": "all", "linger.ms": 20, "enable.idempotence": True})
        )
        self._errors: list[str] = []
        self.published = 0

    def _on_delivery(self, error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            self._errors.append(str(error))

    def publish(self, quote: Quote) -> None:
        while True:
            try:
                self._producer.produce(
                    self.topic,
                    key=quote.symbol.encode("utf-8"),
                    value=encode_quote(quote),
                    on_delivery=self._on_delivery,
                )
                break
            except BufferError:
                self._producer.poll(0.1)
        self._producer.poll(0)
        self.published += 1

    def flush(self) -> None:
        """Wait for every message; RuntimeError naming the failures if any was not delivered."""
        remaining = self._producer.flush(FLUSH_TIMEOUT_SECONDS)
        if remaining or self._errors:
            raise RuntimeError(
                f"{remaining} messages undelivered to {self.topic}, errors {self._errors[:5]}"
            )

    def close(self) -> None:
        """Flush, then release the producer's connections."""
        try:
            self.flush()
        finally:
            self._producer.close()


def replay_day(
    publisher: QuotePublisher,
    seed: int,
    symbols: Sequence[Symbol],
    day: date,
    speed: float,
) -> int:
    """Publish the synthetic trading day of `symbols`, `speed` times faster than real time
    (0: as fast as possible); returns the number of messages."""
    if speed < 0:
        raise ValueError(f"speed must be >= 0, got {speed}")
    streams = [bar_quotes(s, simulator.simulate_intraday(seed, s, day)) for s in symbols]
    started, first_ts = time.monotonic(), None
    count = 0
    for quote in merge_by_time(streams):
        if speed > 0:
            first_ts = quote.ts if first_ts is None else first_ts
            delay = started + (quote.ts - first_ts) / 1000 / speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        publisher.publish(quote)
        count += 1
    publisher.close()
    log.info("stream publish: %d messages of %d symbols for %s", count, len(symbols), day)
    return count


def poll_source(
    publisher: QuotePublisher,
    source: MarketDataResource,
    symbols: Sequence[Symbol],
    day: date,
    interval_seconds: float,
    polls: int,
) -> int:
    """Poll `source` for the bars of `day` `polls` times, `interval_seconds` apart, publishing
    the bars not published before (a vendor returns a growing day); returns the message count."""
    published_through = {symbol.symbol: -1 for symbol in symbols}
    count = 0
    for poll in range(polls):
        if poll:
            time.sleep(interval_seconds)
        for symbol in symbols:
            payload = source.fetch_intraday(symbol, day)
            if payload is None:
                continue
            bars = decode_payload(payload.vendor, payload.content)
            epoch_ms = pd.DatetimeIndex(bars["ts"]).as_unit("ms").asi8
            fresh = bars[epoch_ms > published_through[symbol.symbol]]
            for quote in bar_quotes(symbol, fresh):
                publisher.publish(quote)
                count += 1
            if len(fresh):
                published_through[symbol.symbol] = int(epoch_ms.max())
        publisher.flush()
        log.info("stream publish: poll %d of %s, %d messages so far", poll + 1, day, count)
    publisher.close()
    return count
