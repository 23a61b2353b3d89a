"""The stream status asset reads the writer's group from the broker: lag, landed time, rate."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from fin_assets.analytics import simulator
from fin_assets.defs.streaming.assets import stream_landing_status
from fin_assets.resources.lake import ParquetLake
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.landing_writer import LandingWriter, WriterConfig
from fin_assets.streaming.publisher import bar_quotes
from fin_assets.universe import load_universe
from fin_assets_tests.streaming.streams import SEED, produce, quote_messages

UNIVERSE = {symbol.symbol: symbol for symbol in load_universe()}


def test_status_reports_lag_committed_messages_and_landed_event_time(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIN_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.delenv("FIN_KAFKA_TOPIC", raising=False)
    monkeypatch.delenv("FIN_KAFKA_SECURITY", raising=False)
    bars = simulator.simulate_intraday(SEED, UNIVERSE["ETH"], date(2025, 6, 2)).head(10)
    messages = quote_messages(bar_quotes(UNIVERSE["ETH"], bars))  # 50 messages
    produce(kafka_bootstrap, "quotes", messages[:30])
    config = WriterConfig(group="landing", until_caught_up=True, session_timeout_ms=3_000)
    writer = LandingWriter(KafkaSettings(kafka_bootstrap), ParquetLake(str(tmp_path)), config)
    writer.run(install_signal_handlers=False)
    produce(kafka_bootstrap, "quotes", messages[30:])  # 20 more, not consumed
    instance = DagsterInstance.ephemeral()
    run_config = {"ops": {"stream_landing_status": {"config": {"group": "landing", "max_lag": 20}}}}

    first = materialize([stream_landing_status], instance=instance, run_config=run_config)
    second = materialize([stream_landing_status], instance=instance, run_config=run_config)

    [event] = first.get_asset_materialization_events()
    metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    assert (metadata["topic"], metadata["group"]) == ("quotes", "landing")
    assert (metadata["lag"], metadata["committed"]) == (20, 30)
    assert metadata["partition_lag"] == {"0": 20, "1": 0, "2": 0, "3": 0}
    sixth_minute_end = datetime(2025, 6, 2, 0, 6, tzinfo=UTC)  # the 6th heartbeat, offset 29
    assert metadata["landed_through"] == {"ETH": sixth_minute_end.isoformat()}
    checked_at = datetime.fromisoformat(metadata["checked_at"])
    age = metadata["landed_age_seconds"]["ETH"]
    assert age == round((checked_at - sixth_minute_end).total_seconds(), 3)
    assert "throughput_msg_per_s" not in metadata
    [event] = second.get_asset_materialization_events()
    assert event.materialization.metadata["throughput_msg_per_s"].value == 0.0
    [check] = first.get_asset_check_evaluations()
    assert check.passed and check.metadata["lag"].value == 20
    tighter = {"ops": {"stream_landing_status": {"config": {"group": "landing", "max_lag": 19}}}}
    failing = materialize([stream_landing_status], instance=instance, run_config=tighter)
    [check] = failing.get_asset_check_evaluations()
    assert not check.passed and check.severity.value == "WARN"
