"""Brokers of the streaming tests (see brokers.py): real Kafka wire-protocol servers over TCP.

- `kafka_bootstrap`: a fresh librdkafka mock cluster — the broker of the landing-writer tests,
  which need the metadata of offset commits kept (Tansu 0.6 drops it, see test_brokers.py).
- `kafka_broker`: parametrized over both brokers, a fresh one per test: the mock cluster, and
  Tansu with the quote and dead-letter topics created through the admin API.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from fin_assets.testing.brokers import Broker, create_topics, mock_cluster, tansu_broker


@pytest.fixture
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a fresh single-broker mock cluster."""
    with mock_cluster() as broker:
        yield broker.bootstrap


@pytest.fixture(params=["mock", "tansu"])
def kafka_broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Broker]:
    """A fresh broker of each kind; on Tansu, `quotes` (4 partitions) and `quotes.dlq` exist."""
    if request.param == "mock":
        with mock_cluster() as broker:
            yield broker
        return
    with tansu_broker(tmp_path) as broker:
        assert create_topics(broker.bootstrap) == {"quotes": 4, "quotes.dlq": 1}
        yield broker
