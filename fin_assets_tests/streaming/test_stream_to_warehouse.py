"""A streamed trading day all the way to the warehouse's signal and risk rows, through the
landing sensor and declarative automation as they run.

Lake on moto's S3 server (real HTTP), warehouse a DuckDB file, Kafka librdkafka's mock
cluster, the code location `build_definitions` (the assets with their automation conditions,
jobs and resources, as `dagster-daemon` loads them) on an in-process instance:

1. History: `reference_job`, then `symbol_history_job` over 2025-01-01..2025-01-26 for each
   symbol (the normal path), so the indicators of the streamed day have their look-back.
2. The automation conditions are evaluated with `evaluate_automation_conditions` (the
   evaluator the `fin_automation` sensor runs, each tick carrying the previous cursor) and each
   tick's requests executed before the next, until a tick requests nothing: the baseline.
3. 2025-01-27 of AAPL and BTC is published to Kafka and landed by the landing writer in
   micro-batches (several files per symbol).
4. `landing_sensor` is ticked, its run requests executed as `landing_job` runs, and ticked
   again with its cursor: nothing new.
5. Automation ticks as in 2 until quiet: whatever the landing runs did not carry themselves
   is requested then, only for the streamed day's partitions.

The warehouse then holds exactly the published minute bars of the day (none lost, none
doubled), its daily bars, and the signal and risk rows that the pure analytics compute from
the simulated history plus the streamed day.
"""

import math
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from dagster import DagsterInstance

from fin_assets.analytics.bars import aggregate_daily_bars
from fin_assets.analytics.indicators import compute_indicators
from fin_assets.analytics.signals import compute_signals
from fin_assets.analytics.simulator import simulate_intraday
from fin_assets.definitions import build_definitions
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.settings import Settings
from fin_assets.shared.partitions import partition_values
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.landing_writer import LandingWriter, WriterConfig
from fin_assets.streaming.publisher import QuotePublisher, replay_day
from fin_assets.testing.ticks import InProcessTicks, run_history
from fin_assets.universe import load_universe
from fin_assets_tests.s3_server import s3_bucket, s3_server  # noqa: F401
from fin_assets_tests.streaming.streams import SEED, expected_bars

pytestmark = pytest.mark.slow

UNIVERSE = {symbol.symbol: symbol for symbol in load_universe()}
SYMBOLS = ("AAPL", "BTC")
DAY = date(2025, 1, 27)
"""A session of XNYS where signals fire for both symbols (MACD, momentum, Bollinger)."""


def simulated_daily(symbol: str, start: date, end: date) -> pd.DataFrame:
    """Daily bars of the simulator's minutes of [start, end] (the history's source)."""
    frames = []
    day = start
    while day <= end:
        minutes = simulate_intraday(SEED, UNIVERSE[symbol], day)
        frames.append(minutes.assign(symbol=symbol, trade_date=day))
        day += timedelta(days=1)
    return aggregate_daily_bars(pd.concat(frames, ignore_index=True))


@pytest.fixture
def settings(tmp_path: Path, s3_bucket: str) -> Settings:  # noqa: F811
    return replace(Settings.local(tmp_path / "fin_home", ""), lake_url=f"s3://{s3_bucket}/lake")


def test_a_streamed_day_reaches_signals_and_risk_through_the_sensors(
    kafka_bootstrap: str, settings: Settings
) -> None:
    defs = build_definitions(settings)
    instance = DagsterInstance.ephemeral()
    history_end = DAY - timedelta(days=1)
    run_history(defs, instance, SYMBOLS, partition_values().history_start, history_end)
    ticks = InProcessTicks(defs, instance)
    ticks.automate_until_quiet()

    kafka = KafkaSettings(kafka_bootstrap)
    symbols = [UNIVERSE[s] for s in SYMBOLS]
    published = replay_day(QuotePublisher(kafka), SEED, symbols, DAY, speed=0)
    assert published == 5 * (390 + 1440)
    lake = ParquetLake(settings.lake_url)
    config = WriterConfig(
        group="landing", flush_messages=3_000, until_caught_up=True, session_timeout_ms=3_000
    )
    stats = LandingWriter(kafka, lake, config).run(install_signal_handlers=False)
    assert (stats.bars, stats.dead_letters) == (390 + 1440, 0)
    assert len(lake.list_objects("landing")) > len(SYMBOLS)  # several micro-batches per symbol

    assert ticks.landing_tick() > 0  # the files' runs (how files are grouped is the sensor's)
    assert ticks.landing_tick() == 0  # the cursor: nothing new
    day_keys = {f"{DAY}|{symbol}" for symbol in SYMBOLS}
    after_landing = ticks.automate_until_quiet()
    assert all(keys <= day_keys for t in after_landing for keys in t.values()), after_landing

    warehouse = DuckDBWarehouse(str(settings.warehouse_path))
    want = expected_bars(symbols, DAY).sort_values(["symbol", "ts"]).reset_index(drop=True)
    stored = warehouse.query(
        "SELECT symbol, ts, open, high, low, close, volume FROM fact_intraday_bar "
        f"WHERE trade_date = DATE '{DAY}' ORDER BY symbol, ts"
    )
    assert stored["symbol"].tolist() == want["symbol"].tolist()
    assert [t.value // 1000 for t in pd.to_datetime(stored["ts"], utc=True)] == [
        t.value // 1000 for t in want["ts"]
    ]
    for column in ("open", "high", "low", "close", "volume"):
        assert stored[column].tolist() == want[column].tolist(), column
    duplicates = warehouse.query(
        "SELECT count(*) - count(DISTINCT (symbol, ts)) AS n FROM fact_intraday_bar"
    )
    assert duplicates["n"].iloc[0] == 0

    daily = {}
    for symbol in SYMBOLS:
        streamed = want[want["symbol"] == symbol].assign(trade_date=DAY)
        daily[symbol] = pd.concat(
            [
                simulated_daily(symbol, partition_values().history_start, history_end),
                aggregate_daily_bars(streamed),
            ],
            ignore_index=True,
        )
    facts = warehouse.query(
        "SELECT symbol, open, high, low, close FROM fact_daily_bar "
        f"WHERE trade_date = DATE '{DAY}' ORDER BY symbol"
    )
    assert facts.to_dict("list") == {
        "symbol": list(SYMBOLS),
        **{c: [daily[s][c].iloc[-1] for s in SYMBOLS] for c in ("open", "high", "low", "close")},
    }

    indicators = compute_indicators(pd.concat(daily.values(), ignore_index=True))
    signals = compute_signals(indicators)
    signals = signals[pd.to_datetime(signals["trade_date"]).dt.date == DAY]
    stored_signals = warehouse.query(
        "SELECT symbol, signal, value FROM fact_signal "
        f"WHERE trade_date = DATE '{DAY}' ORDER BY symbol, signal"
    )
    expected_signals = signals.sort_values(["symbol", "signal"]).reset_index(drop=True)
    assert set(stored_signals["symbol"]) == set(SYMBOLS)
    assert stored_signals[["symbol", "signal"]].values.tolist() == (
        expected_signals[["symbol", "signal"]].values.tolist()
    )
    assert stored_signals["value"].tolist() == pytest.approx(expected_signals["value"].tolist())

    risk = warehouse.query(
        f"SELECT symbol, return_1d FROM fact_risk WHERE trade_date = DATE '{DAY}' ORDER BY symbol"
    )
    previous_close = {s: daily[s]["close"].iloc[-2] for s in SYMBOLS}
    assert risk["symbol"].tolist() == list(SYMBOLS)
    for symbol, value in zip(risk["symbol"], risk["return_1d"], strict=True):
        want_return = daily[symbol]["close"].iloc[-1] / previous_close[symbol] - 1
        assert math.isclose(value, want_return, rel_tol=1e-12), symbol
