"""The real CryptoCompare day (../shared/data) landed: repaired by default, refused on demand.

BTC, ETH and SOL of 2025-10-12 land as three CSV files (one run, as the sensor batches them).
ETHEREUM has 2 bars and SOLANA 1 whose high/low miss open/close by 0.015 % to 0.17 %; the
repaired values are computed here, row by row, from the file's own numbers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from dagster import AssetCheckSeverity, DagsterInstance

from fin_assets.analytics.schemas import INTRADAY_BARS
from fin_assets.definitions import build_definitions
from fin_assets.landing.contract import LandingFileRejected
from fin_assets.landing.ingest import ingest_landing_file
from fin_assets.landing.limits import LandingLimits
from fin_assets.operations.step_refusals import StepRefusals
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.market_data import SyntheticMarketSource
from fin_assets.settings import Settings
from fin_assets.testing.landing_files import csv_bytes, put
from fin_assets.universe import load_universe
from fin_assets_tests.landing.test_landing_job import landing_definitions, run_landing
from fin_assets_tests.s3_server import s3_bucket, s3_server  # noqa: F401

REAL_DAY = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
DAY = date(2025, 10, 12)
COINS = {"BTC": "BITCOIN", "ETH": "ETHEREUM", "SOL": "SOLANA"}
KEYS = {symbol: f"landing/{symbol}/2025-10-12/cryptocompare.csv" for symbol in COINS}


def real_bars(coin: str) -> pd.DataFrame:
    frame = pd.read_parquet(REAL_DAY / "crypto_minute_2025-10-12.parquet")
    bars = frame[frame["symbol"] == coin].rename(columns={"timestamp": "ts"})
    return bars[["ts", "open", "high", "low", "close", "volume"]].reset_index(drop=True)


def land_the_real_day(bucket: str) -> dict[str, bytes]:
    files = {symbol: csv_bytes(real_bars(coin)) for symbol, coin in COINS.items()}
    for symbol, content in files.items():
        put(bucket, KEYS[symbol], content)
    return files


def test_the_real_day_is_ingested_with_its_bars_repaired(
    s3_bucket: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    files = land_the_real_day(s3_bucket)
    result = run_landing(
        landing_definitions(s3_bucket, tmp_path),
        s3_bucket,
        list(KEYS.values()),
        DagsterInstance.ephemeral(),
    )
    assert result.success

    lake = ParquetLake(f"s3://{s3_bucket}/lake")
    expected_repairs: dict[str, list[str]] = {}
    for symbol, coin in COINS.items():
        source = real_bars(coin)
        # The raw payload is the file as received, inconsistent bars included.
        (payload,) = lake.list_objects(f"raw/landing/symbol={symbol}/trade_date=2025-10-12")
        assert lake.get_object(payload) == files[symbol]
        stored = lake.read_partitions("intraday_bars", INTRADAY_BARS, [DAY], symbol).to_pandas()
        assert stored["ts"].tolist() == source["ts"].tolist()
        changed = []
        for row, bar in zip(source.itertuples(), stored.itertuples(), strict=True):
            assert (bar.open, bar.close, bar.volume) == (row.open, row.close, row.volume)
            assert bar.high == max(row.high, row.open, row.close)
            assert bar.low == min(row.low, row.open, row.close)
            if (bar.high, bar.low) != (row.high, row.low):
                changed.append(row.ts.isoformat())
        if changed:
            expected_repairs[f"{symbol}|2025-10-12"] = changed
    assert {k: len(v) for k, v in expected_repairs.items()} == {
        "ETH|2025-10-12": 2,
        "SOL|2025-10-12": 1,
    }

    (event,) = [m for m in result.asset_materializations_for_node("intraday_bars") if m.partition][
        :1
    ]
    assert event.metadata["ohlc_repaired"].value == 3
    assert event.metadata["ohlc_repaired_bars"].value == expected_repairs
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["ohlc_consistency"].passed  # the blocking check sees repaired bars
    repaired = checks["ohlc_repaired"]
    assert not repaired.passed and repaired.severity == AssetCheckSeverity.WARN
    assert repaired.metadata["failed_rows"].value == 3
    assert repaired.metadata["checked_rows"].value == 3 * 1200
    assert "daily_bars" in {m.asset_key.path[-1] for m in result.get_asset_materialization_events()}


def test_the_reject_policy_refuses_the_bars_and_writes_nothing(
    s3_bucket: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    land_the_real_day(s3_bucket)
    # The definitions only: no instance database is opened.
    settings = Settings.local(tmp_path, "postgresql://unused/not_opened")
    defs = build_definitions(
        replace(settings, lake_url=f"s3://{s3_bucket}/lake"),
        {"market_data": SyntheticMarketSource(ohlc_policies={"landing": "reject"})},
    )
    instance = DagsterInstance.ephemeral()
    result = run_landing(defs, s3_bucket, list(KEYS.values()), instance)

    assert not result.success
    message = result.failure_data_for_node("intraday_bars").error.message
    assert "ETH 2025-10-12 (source landing, OHLC policy reject): 2 bars" in message
    assert "SOL 2025-10-12 (source landing, OHLC policy reject): 1 bars" in message
    eth = real_bars("ETHEREUM")
    top, bottom = eth[["open", "close"]].max(axis=1), eth[["open", "close"]].min(axis=1)
    inconsistent = eth[(eth["high"] < top) | (eth["low"] > bottom)]["ts"]
    assert len(inconsistent) == 2
    assert all(ts.isoformat() in message for ts in inconsistent)
    assert "BTC" not in message
    # The step failure's metadata counts and lists the refused bars, computed here per coin.
    refused = {}
    for symbol, coin in COINS.items():
        bars = real_bars(coin)
        top, bottom = bars[["open", "close"]].max(axis=1), bars[["open", "close"]].min(axis=1)
        missed = bars[(bars["high"] < top) | (bars["low"] > bottom)]["ts"]
        if len(missed):
            refused[f"{symbol}|2025-10-12"] = [ts.isoformat() for ts in missed]
    metadata = result.failure_data_for_node("intraday_bars").user_failure_data.metadata
    assert metadata["ohlc_refused"].value == 3
    assert metadata["ohlc_refused_bars"].value == refused
    # ... and the exporter's `intraday_bars` count of refused bars reads them from the failed run.
    assert StepRefusals(instance)() == sum(map(len, refused.values()))
    lake = ParquetLake(f"s3://{s3_bucket}/lake")
    assert lake.list_objects("intraday_bars") == []
    assert len(lake.list_objects("raw/landing")) == 3  # the payloads stay, as received


def test_a_bar_beyond_the_tolerance_rejects_the_file(s3_bucket: str) -> None:  # noqa: F811
    bars = real_bars("BITCOIN")
    bars.loc[100, "high"] = bars.loc[100, ["open", "close"]].max() * 0.99  # 1 % below
    key = KEYS["BTC"]
    put(s3_bucket, key, csv_bytes(bars))
    lake = ParquetLake(f"s3://{s3_bucket}/lake")
    universe = {s.symbol: s for s in load_universe()}

    with pytest.raises(LandingFileRejected) as rejected:
        ingest_landing_file(lake, key, universe, date(2025, 1, 1), LandingLimits())

    assert rejected.value.problems == [
        "high/low miss open/close by more than the OHLC repair tolerance (0.5%) in 1 bars: "
        + bars.loc[100, "ts"].isoformat()
    ]
    assert lake.list_objects("raw") == []
    assert lake.get_object(rejected.value.quarantined_as) == csv_bytes(bars)
