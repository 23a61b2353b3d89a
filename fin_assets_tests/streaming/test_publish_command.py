"""`fin-assets stream publish`: simulator replay and source polling reach the topic."""

from datetime import date
from pathlib import Path

import pytest

from fin_assets.analytics import simulator
from fin_assets.cli import main
from fin_assets.resources.market_data import SyntheticMarketSource
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.messages import decode_quote
from fin_assets.streaming.publisher import QuotePublisher, bar_quotes, poll_source
from fin_assets.universe import load_universe
from fin_assets_tests.streaming.streams import SEED, end_offsets, read_topic

UNIVERSE = {symbol.symbol: symbol for symbol in load_universe()}
DAY = date(2025, 6, 2)


def test_publish_command_replays_the_simulated_day_keyed_by_symbol(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIN_HOME", str(tmp_path))
    monkeypatch.setenv("FIN_SEED", str(SEED))
    arguments = ["--date", "2025-06-02", "--symbols", "SPY", "--speed", "0"]

    assert main(["stream", "publish", *arguments, "--bootstrap", kafka_bootstrap]) == 0

    spy = UNIVERSE["SPY"]
    expected = bar_quotes(spy, simulator.simulate_intraday(SEED, spy, DAY))
    received = read_topic(kafka_bootstrap, "quotes", len(expected))
    assert [decode_quote(m.key, m.value) for m in received] == expected
    assert sum(end_offsets(kafka_bootstrap, "quotes").values()) == len(expected)


def test_polling_publishes_only_bars_not_published_before(kafka_bootstrap: str) -> None:
    aapl = UNIVERSE["AAPL"]
    publisher = QuotePublisher(KafkaSettings(kafka_bootstrap))

    count = poll_source(
        publisher, SyntheticMarketSource(seed=SEED), [aapl], DAY, interval_seconds=0, polls=3
    )

    expected = bar_quotes(aapl, simulator.simulate_intraday(SEED, aapl, DAY))
    assert count == len(expected) == 5 * 390
    assert sum(end_offsets(kafka_bootstrap, "quotes").values()) == len(expected)


def test_unknown_symbols_are_refused(kafka_bootstrap: str) -> None:
    arguments = ["--date", "2025-06-02", "--symbols", "AAPL,DOGE", "--bootstrap", kafka_bootstrap]
    with pytest.raises(ValueError, match=r"symbols not in the universe: \['DOGE'\]"):
        main(["stream", "publish", *arguments])
