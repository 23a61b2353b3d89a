"""The exporter's stream metrics come from the stream status asset's real materializations."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from fin_assets.analytics import simulator
from fin_assets.defs.streaming import stream_landing_status
from fin_assets.operations.metrics import stream_metrics
from fin_assets.operations.sources import stream_observation
from fin_assets.resources.lake import ParquetLake
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.landing_writer import LandingWriter, WriterConfig
from fin_assets.streaming.publisher import bar_quotes
from fin_assets.testing.brokers import mock_cluster
from fin_assets.universe import load_universe
from fin_assets_tests.operations.samples import samples
from fin_assets_tests.streaming.streams import SEED, produce, quote_messages

ETH = next(symbol for symbol in load_universe() if symbol.symbol == "ETH")


def test_stream_lag_commits_throughput_and_landed_age(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = DagsterInstance.ephemeral()
    assert stream_observation(instance) is None
    with mock_cluster() as broker:
        monkeypatch.setenv("FIN_KAFKA_BOOTSTRAP", broker.bootstrap)
        monkeypatch.delenv("FIN_KAFKA_TOPIC", raising=False)
        monkeypatch.delenv("FIN_KAFKA_SECURITY", raising=False)
        bars = simulator.simulate_intraday(SEED, ETH, date(2025, 6, 2)).head(10)
        messages = quote_messages(bar_quotes(ETH, bars))  # 50 messages
        poison = [(b"ETH", b"not json"), (b"DOGE", b"{}")]  # dead-lettered by the writer
        produce(broker.bootstrap, "quotes", messages[:30] + poison)
        config = WriterConfig(group="landing", until_caught_up=True, session_timeout_ms=3_000)
        writer = LandingWriter(KafkaSettings(broker.bootstrap), ParquetLake(str(tmp_path)), config)
        writer.run(install_signal_handlers=False)
        produce(broker.bootstrap, "quotes", messages[30:])  # 20 more, not consumed
        run_config = {"ops": {"stream_landing_status": {"config": {"group": "landing"}}}}
        for _ in range(2):
            materialize([stream_landing_status], instance=instance, run_config=run_config)

    observed = stream_observation(instance)
    assert observed is not None
    # The writer committed the first 32 messages (2 of them dead-lettered), landed ETH through
    # the 6th minute's end, and nothing was committed between the two reads.
    assert (observed.group, observed.lag, observed.committed) == ("landing", 20, 32)
    assert observed.dead_letters == 2
    landed = datetime(2025, 6, 2, 0, 6, tzinfo=UTC).timestamp()
    assert observed.landed_through == {"ETH": landed}
    assert observed.throughput == 0.0
    now = datetime.now(UTC).timestamp()
    found = samples(stream_metrics(observed, now))
    assert found[("fin_assets_stream_consumer_lag", (("group", "landing"),))] == 20
    assert found[("fin_assets_stream_committed_messages", (("group", "landing"),))] == 32
    assert found[("fin_assets_stream_dead_letters", (("group", "landing"),))] == 2
    age = found[("fin_assets_stream_landed_age_seconds", (("symbol", "ETH"),))]
    assert age == pytest.approx(now - landed)
    checked = found[("fin_assets_stream_status_timestamp_seconds", (("group", "landing"),))]
    assert checked == observed.checked_at <= now
