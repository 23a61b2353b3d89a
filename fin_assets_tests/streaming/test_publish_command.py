"""`fin-assets stream publish`: simulator replay and source polling reach the topic, on both
brokers (librdkafka's mock cluster and Tansu)."""

from datetime import date
from pathlib import Path

import pytest

from fin_assets.analytics import simulator
from fin_assets.cli import main
from fin_assets.resources.market_data import SyntheticMarketSource
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.messages import decode_quote
from fin_assets.streaming.publisher import QuotePublisher, bar_quotes, poll_source
from fin_assets.testing.brokers import Broker
from fin_assets.universe import load_universe
from fin_assets_tests.streaming.streams import SEED, read_topic

UNIVERSE = {symbol.symbol: symbol for symbol in load_universe()}
DAY = date(2025, 6, 2)
IDLE_SECONDS = 2.0
"""No message may follow the expected ones within this time (Tansu's end offsets are not exact,
see test_brokers.py, so the count is checked by reading)."""


def test_publish_command_replays_the_simulated_day_keyed_by_symbol(
    kafka_broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIN_HOME", str(tmp_path))
    monkeypatch.setenv("FIN_SEED", str(SEED))
    arguments = ["--date", "2025-06-02", "--symbols", "SPY", "--speed", "0"]

    assert main(["stream", "publish", *arguments, "--bootstrap", kafka_broker.bootstrap]) == 0

    spy = UNIVERSE["SPY"]
    expected = bar_quotes(spy, simulator.simulate_intraday(SEED, spy, DAY))
    received = read_topic(kafka_broker.bootstrap, "quotes", len(expected), then_idle=IDLE_SECONDS)
    assert [decode_quote(m.key, m.value) for m in received] == expected


def test_polling_publishes_only_bars_not_published_before(kafka_broker: Broker) -> None:
    aapl = UNIVERSE["AAPL"]
    publisher = QuotePublisher(KafkaSettings(kafka_broker.bootstrap))

    count = poll_source(
        publisher, SyntheticMarketSource(seed=SEED), [aapl], DAY, interval_seconds=0, polls=3
    )

    expected = bar_quotes(aapl, simulator.simulate_intraday(SEED, aapl, DAY))
    assert count == len(expected) == 5 * 390
    received = read_topic(kafka_broker.bootstrap, "quotes", count, then_idle=IDLE_SECONDS)
    assert [decode_quote(m.key, m.value) for m in received] == expected


def test_unknown_symbols_are_refused(kafka_broker: Broker) -> None:
    arguments = [
        "--date",
        "2025-06-02",
        "--symbols",
        "AAPL,DOGE",
        "--bootstrap",
        kafka_broker.bootstrap,
    ]
    with pytest.raises(ValueError, match=r"symbols not in the universe: \['DOGE'\]"):
        main(["stream", "publish", *arguments])
