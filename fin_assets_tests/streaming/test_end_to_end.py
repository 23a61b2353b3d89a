"""Publish → landing writer → S3 landing zone (moto) → landing sensor → landing runs → bars →
warehouse (DuckDB)."""

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from dagster import (
    AssetSelection,
    DagsterInstance,
    Definitions,
    SensorResult,
    build_sensor_context,
    define_asset_job,
    materialize,
)

from fin_assets.analytics.schemas import DAILY_BARS, INTRADAY_BARS
from fin_assets.defs.bars import daily_bars, intraday_bars
from fin_assets.defs.ingest import raw_quotes
from fin_assets.defs.landing import landing_sensor
from fin_assets.defs.partitions import HISTORY_START, SYMBOLS
from fin_assets.defs.warehouse import fact_daily_bar, fact_intraday_bar
from fin_assets.landing.contract import parse_landing_key
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.market_data import SyntheticMarketSource
from fin_assets.resources.spark_runner import LocalSparkRunner
from fin_assets.resources.storage import DuckDBWarehouseResource, LakeResource
from fin_assets.resources.warehouse import DuckDBWarehouse
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.landing_writer import LandingWriter, WriterConfig
from fin_assets.streaming.publisher import QuotePublisher, replay_day
from fin_assets.universe import load_universe
from fin_assets_tests.s3_server import s3_bucket, s3_server  # noqa: F401
from fin_assets_tests.streaming.streams import SEED, expected_bars

UNIVERSE = {symbol.symbol: symbol for symbol in load_universe()}
DAY = date(2025, 6, 2)
BARS = AssetSelection.assets(raw_quotes, intraday_bars, daily_bars)


@pytest.mark.slow
def test_a_published_day_reaches_the_warehouse_exactly_once(
    kafka_bootstrap: str,
    s3_bucket: str,  # noqa: F811
    tmp_path: Path,
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

    resources = {
        "market_data": SyntheticMarketSource(),
        "lake": LakeResource(root=lake_url),
        "spark": LocalSparkRunner(),
    }
    instance = DagsterInstance.ephemeral()
    tick = landing_sensor(
        build_sensor_context(resources={"lake": resources["lake"]}, instance=instance)
    )
    assert isinstance(tick, SensorResult)
    batched = [
        k
        for r in tick.run_requests
        for k in r.run_config["ops"]["raw_quotes"]["config"]["landing_keys"]
    ]
    assert sorted(batched) == keys
    # The landing job runs the whole graph; the bars part of it is what this test checks.
    job = Definitions(
        assets=[raw_quotes, intraday_bars, daily_bars],
        jobs=[define_asset_job("landing_bars", selection=BARS)],
        resources=resources,
    ).resolve_job_def("landing_bars")
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

    warehouse_path = str(tmp_path / "warehouse.duckdb")
    for symbol in symbols:
        loaded = materialize(
            [fact_intraday_bar, fact_daily_bar],
            partition_key=f"{DAY.isoformat()}|{symbol}",
            resources={
                "lake": resources["lake"],
                "warehouse": DuckDBWarehouseResource(path=warehouse_path),
            },
            instance=instance,
        )
        assert loaded.success
    stored = DuckDBWarehouse(warehouse_path).query(
        "SELECT symbol, ts, open, high, low, close, volume FROM fact_intraday_bar "
        "ORDER BY symbol, ts"
    )
    ordered = want.sort_values(["symbol", "ts"]).reset_index(drop=True)
    assert stored["symbol"].tolist() == ordered["symbol"].tolist()
    assert [t.value // 1000 for t in pd.to_datetime(stored["ts"], utc=True)] == [
        t.value // 1000 for t in ordered["ts"]
    ]
    for column in ("open", "high", "low", "close", "volume"):
        assert stored[column].tolist() == ordered[column].tolist(), column
    daily = DuckDBWarehouse(warehouse_path).query(
        "SELECT symbol, count(*) AS n FROM fact_daily_bar GROUP BY symbol ORDER BY symbol"
    )
    assert daily.to_dict("list") == {"symbol": sorted(symbols), "n": [1, 1]}
