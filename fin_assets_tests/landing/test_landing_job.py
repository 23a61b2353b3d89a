"""landing_job and `fin-assets ingest-landing` over moto S3: landing files → raw → bars values."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
)

from fin_assets.analytics.market_calendar import session_minutes
from fin_assets.analytics.schemas import DAILY_BARS, INTRADAY_BARS
from fin_assets.analytics.simulator import simulate_intraday
from fin_assets.cli import main
from fin_assets.definitions import build_definitions
from fin_assets.defs.ingest.landing import landing_run_config, landing_run_tags
from fin_assets.landing.batches import landing_batches
from fin_assets.landing.contract import parse_landing_key
from fin_assets.landing.cursor import LandedFile
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.settings import Settings
from fin_assets.shared.partitions import partition_values
from fin_assets.testing.landing_files import csv_bytes, json_bytes, minute_bars, put
from fin_assets.universe import load_universe
from fin_assets_tests.s3_server import s3_bucket, s3_server  # noqa: F401

JAN2 = date(2025, 1, 2)
FIRST = "landing/AAPL/2025-01-02/first.csv"
SECOND = "landing/AAPL/2025-01-02/second.json"
HISTORY = "landing/AAPL/2025-01-01_2025-01-02/history.csv"


# The landing job runs the whole date × symbol graph; these tests check the bars it writes.
BARS = [AssetKey("raw_quotes"), AssetKey("intraday_bars"), AssetKey("daily_bars")]


def landing_definitions(bucket: str, home: Path) -> Definitions:
    """The production definitions with the lake on the moto bucket (no instance is opened)."""
    settings = Settings.local(home, "postgresql://unused/not_opened")
    return build_definitions(replace(settings, lake_url=f"s3://{bucket}/lake"))


def run_landing(
    defs: Definitions, bucket: str, keys: list[str], instance: DagsterInstance
) -> ExecuteInProcessResult:
    """landing_job's bars over one batch of landing files, tagged as the sensor tags it."""
    lake = ParquetLake(f"s3://{bucket}/lake")
    files = [
        (
            LandedFile(key, lake.object_etag(key), 0.0),
            parse_landing_key(key, partition_values().symbols, partition_values().history_start),
        )
        for key in keys
    ]
    [batch] = landing_batches(files)
    return defs.resolve_job_def("landing_job").execute_in_process(
        run_config=landing_run_config(batch.keys),
        tags=landing_run_tags(batch),
        instance=instance,
        asset_selection=BARS,
        raise_on_error=False,
    )


def test_bars_are_the_union_of_landing_files_the_last_landed_winning(
    s3_bucket: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    landed = datetime(2026, 3, 2, 15, 0, 0, tzinfo=UTC)
    put(s3_bucket, FIRST, csv_bytes(minute_bars("XNYS", JAN2, 0, 3, 100.0)), started=landed)
    later = landed + timedelta(seconds=1)
    put(s3_bucket, SECOND, json_bytes(minute_bars("XNYS", JAN2, 2, 2, 200.0)), started=later)
    instance = DagsterInstance.ephemeral()
    defs = landing_definitions(s3_bucket, tmp_path)

    # Run order differs from landing order on purpose: landing order decides.
    assert run_landing(defs, s3_bucket, [SECOND], instance).success
    assert run_landing(defs, s3_bucket, [FIRST], instance).success

    lake = ParquetLake(f"s3://{s3_bucket}/lake")
    bars = lake.read_partitions("intraday_bars", INTRADAY_BARS, [JAN2], "AAPL").to_pandas()
    latest = instance.get_latest_materialization_event(AssetKey("intraday_bars"))
    metadata = latest.asset_materialization.metadata
    assert metadata["incomplete_sessions"].value == 1
    assert metadata["missing_minutes"].value == {"AAPL|2025-01-02": "4 of 390 minutes"}
    assert bars["ts"].tolist() == list(session_minutes("XNYS", JAN2)[:4])
    assert bars["open"].tolist() == [100.0, 101.0, 200.0, 201.0]
    assert bars["high"].tolist() == [101.0, 102.0, 201.0, 202.0]
    assert bars["low"].tolist() == [99.0, 100.0, 199.0, 200.0]
    assert bars["close"].tolist() == [100.5, 101.5, 200.5, 201.5]
    assert bars["volume"].tolist() == [100.0, 101.0, 100.0, 101.0]
    daily = lake.read_partitions("daily_bars", DAILY_BARS, [JAN2], "AAPL").to_pylist()
    typical_volume = (
        (101 + 99 + 100.5) / 3 * 100
        + (102 + 100 + 101.5) / 3 * 101
        + (201 + 199 + 200.5) / 3 * 100
        + (202 + 200 + 201.5) / 3 * 101
    )
    assert daily == [
        {
            "symbol": "AAPL",
            "trade_date": JAN2,
            "open": 100.0,
            "high": 202.0,
            "low": 99.0,
            "close": 201.5,
            "volume": 402.0,
            "vwap": pytest.approx(typical_volume / 402, rel=1e-12),
            "bar_count": 4,
        }
    ]


def test_a_rejected_file_fails_its_run_and_writes_no_bars(
    s3_bucket: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    # The sensor validates files before batching them; a file replaced by a broken version
    # between the sensor's tick and its run is the case this covers.
    key = "landing/AAPL/2025-01-02/cut.csv"
    put(s3_bucket, key, csv_bytes(minute_bars("XNYS", JAN2, 0, 3, 100.0))[:-12])
    defs = landing_definitions(s3_bucket, tmp_path)

    result = run_landing(defs, s3_bucket, [key], DagsterInstance.ephemeral())

    assert not result.success
    failure = result.failure_data_for_node("raw_quotes")
    lake = ParquetLake(f"s3://{s3_bucket}/lake")
    quarantined, report = lake.list_objects("quarantine")
    assert quarantined.startswith(f"quarantine/{key}/")
    assert report == quarantined.removesuffix(".csv") + ".error.json"
    assert f"rejected (moved to {quarantined})" in str(failure.error.message)
    assert lake.list_objects("raw") == []
    assert lake.list_objects("intraday_bars") == []


def test_ingest_landing_command_processes_each_file_once(
    s3_bucket: str,  # noqa: F811
    fin_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FIN_HOME", str(fin_settings.home))
    monkeypatch.setenv("FIN_DAGSTER_PG_URL", fin_settings.dagster_pg_url)
    monkeypatch.setenv("FIN_LAKE_URL", f"s3://{s3_bucket}/lake")
    # The landing job runs the whole graph, whose indicators read the history from
    # HISTORY_START (2025-01-01): this file covers it (a holiday, then 2025-01-02).
    put(s3_bucket, HISTORY, csv_bytes(minute_bars("XNYS", JAN2, 0, 3, 100.0)))
    put(s3_bucket, "landing/AAPL/2025-01-02/cut.csv", b"ts,open,high\n")

    assert main(["ingest-landing"]) == 1
    first = capsys.readouterr().out
    assert main(["ingest-landing"]) == 0
    second = capsys.readouterr().out

    assert "landing/AAPL/2025-01-02/cut.csv: rejected (moved to quarantine/landing/AAPL/" in first
    assert f"{HISTORY}: succeeded" in first
    assert "2 landing files: 1 rejected, 1 succeeded" in first
    assert f"{HISTORY}: already processed" in second
    assert "1 landing files: 1 already processed" in second
    lake = ParquetLake(f"s3://{s3_bucket}/lake")
    bars = lake.read_partitions("intraday_bars", INTRADAY_BARS, [JAN2], "AAPL").to_pandas()
    assert bars["open"].tolist() == [100.0, 101.0, 102.0]
    # The session holds 3 of its 390 minutes: the warehouse and the CLI say so.
    completeness = DuckDBWarehouse(str(fin_settings.warehouse_path)).query(
        "SELECT trade_date, bar_count, session_minutes, missing_minutes FROM fact_daily_bar"
    )
    assert completeness.values.tolist() == [[pd.Timestamp(JAN2), 3, 390, 387]]
    assert "Incomplete sessions (1;" in first
    assert re.search(r"AAPL\s+│\s+2025-01-02\s+│\s+3\s+│\s+390\s+│\s+387", first)


def test_a_correction_replaces_only_the_minutes_it_carries(
    s3_bucket: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    # Issue 16 item 3: a 10-minute correction of a day of 390 vendor minutes replaced the
    # whole day (390 -> 10 minutes). Now the day merges minute by minute.
    instance = DagsterInstance.ephemeral()
    defs = landing_definitions(s3_bucket, tmp_path)
    vendor_pull = defs.resolve_job_def("landing_job").execute_in_process(
        partition_key="2025-01-02|AAPL", instance=instance, asset_selection=BARS
    )
    lake = ParquetLake(f"s3://{s3_bucket}/lake")
    assert vendor_pull.success
    vendor = simulate_intraday(42, next(s for s in load_universe() if s.symbol == "AAPL"), JAN2)
    assert len(vendor) == 390

    correction = minute_bars("XNYS", JAN2, 100, 10, 100.0)
    put(s3_bucket, FIRST, csv_bytes(correction))
    assert run_landing(defs, s3_bucket, [FIRST], instance).success

    bars = lake.read_partitions("intraday_bars", INTRADAY_BARS, [JAN2], "AAPL").to_pandas()
    assert bars["ts"].tolist() == list(session_minutes("XNYS", JAN2))
    corrected = bars.iloc[100:110].reset_index(drop=True)
    for column in ("open", "high", "low", "close", "volume"):
        assert corrected[column].tolist() == correction[column].tolist()
        kept = bars[column].drop(index=range(100, 110)).tolist()
        assert kept == vendor[column].drop(index=range(100, 110)).tolist()
    daily = lake.read_partitions("daily_bars", DAILY_BARS, [JAN2], "AAPL").to_pylist()[0]
    expected_volume = (
        vendor["volume"].sum()
        - vendor["volume"].iloc[100:110].sum()
        + sum(100.0 + i for i in range(10))
    )
    assert daily["bar_count"] == 390
    assert daily["volume"] == pytest.approx(expected_volume, rel=1e-12)
    assert daily["open"] == vendor["open"].iloc[0] and daily["close"] == vendor["close"].iloc[-1]
    assert len(lake.list_objects("raw/synthetic/symbol=AAPL/trade_date=2025-01-02")) == 1
