"""Publish → landing writer → S3 landing zone (moto) → landing sensor → landing runs → bars."""

from datetime import date

import pytest
from dagster import DagsterInstance, Definitions, SensorResult, build_sensor_context

from fin_assets.analytics.schemas import DAILY_BARS, INTRADAY_BARS
from fin_assets.defs.bars import daily_bars, intraday_bars
from fin_assets.defs.ingest import raw_quotes
from fin_assets.defs.landing import landing_job, landing_sensor
from fin_assets.defs.partitions import HISTORY_START, SYMBOLS
from fin_assets.landing.contract import parse_landing_key
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.market_data import SyntheticMarketSource
from fin_assets.resources.storage import LakeResource
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.landing_writer import LandingWriter, WriterConfig
from fin_assets.streaming.publisher import QuotePublisher, replay_day
from fin_assets.universe import load_universe
from fin_assets_tests.s3_server import s3_bucket, s3_server  # noqa: F401
from fin_assets_tests.streaming.streams import SEED, expected_bars

UNIVERSE = {symbol.symbol: symbol for symbol in load_universe()}
DAY = date(2025, 6, 2)


@pytest.mark.slow
def test_a_published_day_reaches_the_bars_layer_exactly_once(
    kafka_bootstrap: str,
    s3_bucket: str,  # noqa: F811
) -> None:
    symbols = ["AAPL", "BTC"]
    kafka = KafkaSettings(kafka_bootstrap)
    replay_day(QuotePublisher(kafka), SEED, [UNIVERSE[s] for s in symbols], DAY, speed=0)
    lake_url = f"s3://{s3_bucket}/lake"
    lake = ParquetLake(lake_url)
    config = WriterConfig(
        group="landing", flush_messages=2_000, until_caught_up=True, session_timeout_ms=3_000
    )
    LandingWriter(kafka, lake, config).run(install_signal_handlers=False)
    keys = lake.list_objects("landing")
    assert len(keys) > len(symbols)  # several micro-batches per symbol
    assert all(parse_landing_key(key, SYMBOLS, HISTORY_START).symbol in symbols for key in keys)

    resources = {"market_data": SyntheticMarketSource(), "lake": LakeResource(root=lake_url)}
    tick = landing_sensor(build_sensor_context(resources={"lake": resources["lake"]}))
    assert isinstance(tick, SensorResult)
    assert sorted(r.tags["fin/landing_key"] for r in tick.run_requests) == keys
    job = Definitions(
        assets=[raw_quotes, intraday_bars, daily_bars], jobs=[landing_job], resources=resources
    ).resolve_job_def("landing_job")
    instance = DagsterInstance.ephemeral()
    for request in tick.run_requests:
        result = job.execute_in_process(
            run_config=request.run_config, tags=request.tags, instance=instance
        )
        assert result.success

    want = expected_bars([UNIVERSE[s] for s in symbols], DAY)
    for symbol in symbols:
        bars = lake.read_partitions("intraday_bars", INTRADAY_BARS, [DAY], symbol).to_pandas()
        expected = want[want["symbol"] == symbol].reset_index(drop=True)
        assert bars["ts"].tolist() == expected["ts"].tolist()
        for column in ("open", "high", "low", "close", "volume"):
            assert bars[column].tolist() == expected[column].tolist(), column
        [daily] = lake.read_partitions("daily_bars", DAILY_BARS, [DAY], symbol).to_pylist()
        assert daily["bar_count"] == len(expected)
        first, last = expected.iloc[0], expected.iloc[-1]
        assert (daily["open"], daily["close"]) == (first["open"], last["close"])
        assert daily["volume"] == pytest.approx(expected["volume"].sum(), rel=1e-12)
