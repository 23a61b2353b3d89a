"""A real Kafka wire-protocol broker for the streaming tests: librdkafka's mock cluster.

The cluster lives inside a confluent-kafka Producer created with `test.mock.num.brokers`; it
listens on 127.0.0.1 over TCP for as long as that producer is alive, so other processes (the
`fin-assets stream land` subprocesses of the crash tests) reach it like any broker. Topics are
created on first use with 4 partitions.
"""

from collections.abc import Iterator

import pytest
from confluent_kafka import Producer


@pytest.fixture
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a fresh single-broker mock cluster."""
    cluster = Producer({"test.mock.num.brokers": 1, "log_level": 3})
    brokers = cluster.list_topics(timeout=10).brokers.values()
    yield ",".join(f"{broker.host}:{broker.port}" for broker in brokers)
    cluster.close()
