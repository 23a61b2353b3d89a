"""The landing sensor evaluated against moto's S3 server: requests, run keys, cursor."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from dagster import (
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    SensorResult,
    build_sensor_context,
)
from dagster._core.utils import make_new_run_id
from dagster._daemon.sensor import MIN_INTERVAL_LOOP_TIME

from fin_assets.analytics.schemas import DAILY_BARS
from fin_assets.defs.ingest.landing import landing_sensor
from fin_assets.landing.cursor import OVERLAP_SECONDS, LandingCursor
from fin_assets.resources.lake import RACY_SECONDS, ParquetLake
from fin_assets.resources.storage import LakeResource
from fin_assets.testing.landing_files import csv_bytes, json_bytes, minute_bars, put
from fin_assets.testing.s3_server import MotoS3
from fin_assets_tests.s3_server import s3_bucket, s3_server  # noqa: F401

A = "landing/AAPL/2025-01-02/a.csv"
B = "landing/MSFT/2025-01-02_2025-01-03/b.json"


def tick(bucket: str, cursor: str | None, instance: DagsterInstance | None = None) -> SensorResult:
    context = build_sensor_context(
        cursor=cursor,
        resources={"lake": LakeResource(root=f"s3://{bucket}/lake")},
        instance=instance or DagsterInstance.ephemeral(),
    )
    return landing_sensor(context)


def etag(s3: MotoS3, bucket: str, key: str) -> str:
    return s3.client().head_object(Bucket=bucket, Key=f"lake/{key}")["ETag"].strip('"')


def requested(result: SensorResult) -> dict[str, dict]:
    return {r.run_key: {"tags": r.tags, "run_config": r.run_config} for r in result.run_requests}


def msft_two_days() -> bytes:
    """B's content: rows on both sessions its key names (the contract requires each)."""
    days = [minute_bars("XNYS", date(2025, 1, d), 0, 2, 50.0) for d in (2, 3)]
    return json_bytes(pd.concat(days, ignore_index=True))


def aapl_csv(base: float = 100.0) -> bytes:
    return csv_bytes(minute_bars("XNYS", date(2025, 1, 2), 0, 3, base))


def test_each_new_file_requests_exactly_its_partitions_once(
    s3_server: MotoS3,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> None:
    put(s3_bucket, A, aapl_csv())
    put(s3_bucket, B, msft_two_days())
    put(s3_bucket, "landing/ZZZZ/2025-01-02/c.csv", aapl_csv())

    first = tick(s3_bucket, None)

    key_a, key_b = f"{A}@{etag(s3_server, s3_bucket, A)}", f"{B}@{etag(s3_server, s3_bucket, B)}"
    assert requested(first) == {
        key_a: {
            "tags": {
                "dagster/asset_partition_range_start": "2025-01-02|AAPL",
                "dagster/asset_partition_range_end": "2025-01-02|AAPL",
                "fin/landing_run_key": key_a,
                "fin/landing_files": "1",
                "fin/landing_partitions": "AAPL",
                "fin/launch_at_once": "true",
            },
            "run_config": {"ops": {"raw_quotes": {"config": {"landing_keys": [A]}}}},
        },
        key_b: {
            "tags": {
                "dagster/asset_partition_range_start": "2025-01-02|MSFT",
                "dagster/asset_partition_range_end": "2025-01-03|MSFT",
                "fin/landing_run_key": key_b,
                "fin/landing_files": "1",
                "fin/landing_partitions": "MSFT",
                "fin/launch_at_once": "true",
            },
            "run_config": {"ops": {"raw_quotes": {"config": {"landing_keys": [B]}}}},
        },
    }
    lake = ParquetLake(f"s3://{s3_bucket}/lake")
    quarantined, report_key = lake.list_objects("quarantine")
    assert quarantined.startswith("quarantine/landing/ZZZZ/2025-01-02/c.csv/")
    assert quarantined.endswith(".csv")
    assert report_key == quarantined.removesuffix(".csv") + ".error.json"
    report = json.loads(lake.get_object(report_key))
    assert report["problems"] == ["symbol 'ZZZZ' is not in the universe"]
    assert lake.list_objects("landing") == [A, B]

    again = tick(s3_bucket, first.cursor)
    assert again.run_requests == []
    assert sorted(LandingCursor.from_json(again.cursor).seen) == [A, B]


def test_files_of_one_date_range_are_one_run_per_contiguous_stretch(
    s3_server: MotoS3,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> None:
    # A vendor drop: one file per symbol for 2025-01-02. AAPL, MSFT and NVDA are neighbours in
    # the universe order, BTC is not (JPM to SPY come between), and SOL's file covers another range.
    day = date(2025, 1, 2)
    keys = {symbol: f"landing/{symbol}/2025-01-02/drop.csv" for symbol in ("AAPL", "MSFT", "NVDA")}
    keys["BTC"] = "landing/BTC/2025-01-02/drop.csv"
    for symbol, key in keys.items():
        put(
            s3_bucket,
            key,
            csv_bytes(minute_bars("XNYS" if symbol != "BTC" else "24/7", day, 0, 2, 10.0)),
        )
    sol = "landing/SOL/2025-01-01_2025-01-02/drop.csv"
    sol_days = [minute_bars("24/7", date(2025, 1, d), 0, 2, 10.0) for d in (1, 2)]
    put(s3_bucket, sol, csv_bytes(pd.concat(sol_days, ignore_index=True)))
    run_keys = {key: f"{key}@{etag(s3_server, s3_bucket, key)}" for key in [*keys.values(), sol]}

    result = tick(s3_bucket, None)

    stocks = [keys["AAPL"], keys["MSFT"], keys["NVDA"]]
    assert {
        r.run_key: (
            r.run_config["ops"]["raw_quotes"]["config"]["landing_keys"],
            r.tags["dagster/asset_partition_range_start"],
            r.tags["dagster/asset_partition_range_end"],
            r.tags["fin/landing_partitions"],
        )
        for r in result.run_requests
    } == {
        ",".join(sorted(run_keys[k] for k in stocks)): (
            stocks,
            "2025-01-02|AAPL",
            "2025-01-02|NVDA",
            "AAPL,MSFT,NVDA",
        ),
        run_keys[keys["BTC"]]: ([keys["BTC"]], "2025-01-02|BTC", "2025-01-02|BTC", "BTC"),
        run_keys[sol]: ([sol], "2025-01-01|SOL", "2025-01-02|SOL", "SOL"),
    }


def test_a_file_waits_while_a_landing_run_covers_its_partitions(
    s3_server: MotoS3,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> None:
    instance = DagsterInstance.ephemeral()
    busy = DagsterRun(
        job_name="landing_job",
        run_id=make_new_run_id(),
        status=DagsterRunStatus.STARTED,
        tags={"fin/landing_partitions": "JPM,AAPL"},
    )
    instance.add_run(busy)
    put(s3_bucket, A, aapl_csv())

    waiting = tick(s3_bucket, None, instance)
    assert waiting.run_requests == []
    assert LandingCursor.from_json(waiting.cursor).deferred == {A: etag(s3_server, s3_bucket, A)}

    instance.delete_run(busy.run_id)
    released = tick(s3_bucket, waiting.cursor, instance)
    assert list(requested(released)) == [f"{A}@{etag(s3_server, s3_bucket, A)}"]


def test_equal_second_late_and_rewritten_files_are_each_requested(
    s3_server: MotoS3,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> None:
    landed = datetime(2026, 3, 2, 15, 0, 7, tzinfo=UTC)
    put(s3_bucket, A, aapl_csv(), started=landed)
    first = tick(s3_bucket, None)
    assert LandingCursor.from_json(first.cursor).watermark == landed.timestamp()

    same_second = "landing/AAPL/2025-01-02/same-second.csv"
    put(s3_bucket, same_second, aapl_csv(200.0), started=landed)
    second = tick(s3_bucket, first.cursor)
    assert list(requested(second)) == [f"{same_second}@{etag(s3_server, s3_bucket, same_second)}"]

    late = "landing/AAPL/2025-01-02/late.csv"
    put(s3_bucket, late, aapl_csv(300.0), started=landed - timedelta(seconds=120))
    third = tick(s3_bucket, second.cursor)
    assert list(requested(third)) == [f"{late}@{etag(s3_server, s3_bucket, late)}"]

    # An upload that started more than OVERLAP_SECONDS before the newest seen file is the
    # documented bound: not offered (fin-assets ingest-landing still processes it).
    too_late = "landing/AAPL/2025-01-02/too-late.csv"
    put(
        s3_bucket,
        too_late,
        aapl_csv(400.0),
        started=landed - timedelta(seconds=OVERLAP_SECONDS + 1),
    )
    fourth = tick(s3_bucket, third.cursor)
    assert fourth.run_requests == []

    put(s3_bucket, A, aapl_csv(500.0), started=landed + timedelta(seconds=1))
    fifth = tick(s3_bucket, fourth.cursor)
    new_key = f"{A}@{etag(s3_server, s3_bucket, A)}"
    assert list(requested(fifth)) == [new_key]
    assert new_key not in requested(first)
    cursor = LandingCursor.from_json(fifth.cursor)
    assert cursor.watermark == landed.timestamp() + 1
    assert sorted(cursor.seen) == sorted([A, same_second, late])


def test_a_restarted_sensor_continues_from_the_stored_cursor(
    s3_server: MotoS3,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> None:
    put(s3_bucket, A, aapl_csv())
    stored = tick(s3_bucket, None).cursor
    put(s3_bucket, B, msft_two_days())

    restarted = tick(s3_bucket, LandingCursor.from_json(stored).to_json())

    assert list(requested(restarted)) == [f"{B}@{etag(s3_server, s3_bucket, B)}"]


def test_a_file_whose_dates_are_not_partitions_yet_is_deferred(
    s3_server: MotoS3,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> None:
    today = datetime.now(UTC).date()
    key = f"landing/BTC/{today.isoformat()}/stream-0-1-9.csv"
    put(s3_bucket, key, b"ts,open,high,low,close,volume\n")

    first = tick(s3_bucket, None)
    second = tick(s3_bucket, first.cursor)

    for result in (first, second):
        assert result.run_requests == []
        assert LandingCursor.from_json(result.cursor).deferred == {
            key: etag(s3_server, s3_bucket, key)
        }
    assert ParquetLake(f"s3://{s3_bucket}/lake").list_objects("landing") == [key]


def test_the_same_sensor_runs_over_a_local_lake_folder(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path))
    landed = datetime(2026, 3, 2, 15, 0, 7, tzinfo=UTC).timestamp()
    lake.put_object(A, aapl_csv())
    os.utime(tmp_path / A, (landed, landed))
    resources = {"lake": LakeResource(root=str(tmp_path))}
    instance = DagsterInstance.ephemeral()
    first = landing_sensor(build_sensor_context(resources=resources, instance=instance))

    same_second = "landing/AAPL/2025-01-02/same-second.csv"
    lake.put_object(same_second, aapl_csv(200.0))
    os.utime(tmp_path / same_second, (landed, landed))
    second = landing_sensor(
        build_sensor_context(cursor=first.cursor, resources=resources, instance=instance)
    )

    md5 = hashlib.md5(aapl_csv(200.0)).hexdigest()
    assert list(requested(first)) == [f"{A}@{hashlib.md5(aapl_csv()).hexdigest()}"]
    assert list(requested(second)) == [f"{same_second}@{md5}"]


def test_a_tick_lists_only_the_landing_prefix_and_reads_only_new_files(
    s3_bucket: str,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    put(s3_bucket, A, aapl_csv())
    put(s3_bucket, "lake/raw/other.json", b"{}")
    caplog.set_level(logging.INFO, logger="werkzeug")

    caplog.clear()
    first = tick(s3_bucket, None)
    first_requests = s3_requests(caplog)
    caplog.clear()
    tick(s3_bucket, first.cursor)
    quiet_requests = s3_requests(caplog)

    listing = f"GET /{s3_bucket}?list-type=2&max-keys=1000&prefix=lake/landing/"
    # A new file: its ETag (HEAD), then the contract's check reads it (HEAD, GET) and the
    # plausibility band lists the symbol's daily bars (its recent closes; none here).
    history = f"/{s3_bucket}?list-type=2&max-keys=1000&prefix=lake/daily_bars/symbol%3DAAPL/"
    assert first_requests[0] == listing
    assert {request.split(" ")[1] for request in first_requests[1:]} == {
        f"/{s3_bucket}/lake/{A}",
        history,
    }
    assert {request.split(" ")[0] for request in first_requests[1:]} == {"HEAD", "GET"}
    assert quiet_requests == [listing]


def s3_requests(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Method and path of each request the moto server logged."""
    # Without the colours werkzeug gives some status codes.
    lines = [
        re.sub(r"\x1b\[[0-9;]*m", "", r.getMessage())
        for r in caplog.records
        if r.name == "werkzeug"
    ]
    return [line.split('"')[1].rsplit(" ", 1)[0] for line in lines if '"' in line]


def test_the_landing_sensor_is_evaluated_on_every_loop_of_the_sensor_daemon() -> None:
    """The daemon evaluates sensors every MIN_INTERVAL_LOOP_TIME seconds and skips one whose last
    tick ended less than its minimum interval ago: a tick taking up to half a loop must not make
    the next loop skip the landing zone (at 5 s it did: files waited 10 s for their run)."""
    longest_tick_seconds = MIN_INTERVAL_LOOP_TIME / 2
    assert landing_sensor.minimum_interval_seconds is not None
    assert landing_sensor.minimum_interval_seconds <= MIN_INTERVAL_LOOP_TIME - longest_tick_seconds


def test_a_later_tick_reads_the_plausibility_history_from_the_sensors_cache(
    s3_bucket: str,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The band of a new file reads the symbol's recent daily bars; the next tick's file of the
    same symbol needs the same bars, which the sensor's lake kept (only the listing again)."""
    lake = ParquetLake(f"s3://{s3_bucket}/lake")
    history = [date(2025, 1, 2) + timedelta(days=i) for i in range(9)]
    for day in history:
        bar = {"symbol": "AAPL", "trade_date": day, "open": 100.0, "high": 101.0, "low": 99.0}
        row = {**bar, "close": 100.0, "volume": 1e6, "vwap": 100.0, "bar_count": 390}
        lake.write_partition(
            "daily_bars", pa.Table.from_pylist([row], DAILY_BARS), trade_date=day, symbol="AAPL"
        )
    time.sleep(RACY_SECONDS + 0.5)  # the read cache keeps only files older than this
    caplog.set_level(logging.INFO, logger="werkzeug")
    monday, tuesday = date(2025, 1, 13), date(2025, 1, 14)
    put(
        s3_bucket, f"landing/AAPL/{monday}/a.csv", csv_bytes(minute_bars("XNYS", monday, 0, 3, 100))
    )
    first = tick(s3_bucket, None)
    put(
        s3_bucket,
        f"landing/AAPL/{tuesday}/b.csv",
        csv_bytes(minute_bars("XNYS", tuesday, 0, 3, 100)),
    )
    caplog.clear()
    second = tick(s3_bucket, first.cursor)

    assert len(first.run_requests) == len(second.run_requests) == 1
    bar_files = [
        r for r in s3_requests(caplog) if r.startswith(f"GET /{s3_bucket}/lake/daily_bars/")
    ]
    assert bar_files == []
