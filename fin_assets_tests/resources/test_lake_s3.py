"""The lake's key behaviours on S3, over real HTTP against moto's server (see s3_server.py)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, materialize

from fin_assets.analytics.market_calendar import sessions_in_range
from fin_assets.analytics.schemas import DAILY_BARS, INDICATORS
from fin_assets.analytics.simulator import simulate_intraday
from fin_assets.defs.common.partition_ranges import range_tags
from fin_assets.objects.store import ImmutableObjectError
from fin_assets.resources.environments import resources_for
from fin_assets.resources.lake import MissingPartitionsError, ParquetLake
from fin_assets.resources.lake_file_cache import LakeFileCache
from fin_assets.resources.storage import LakeResource
from fin_assets.settings import Settings
from fin_assets.shared.lake_io import calendar_dates
from fin_assets.testing.s3_server import MotoS3
from fin_assets.universe import load_universe
from fin_assets_tests.graph import asset_def
from fin_assets_tests.resources.test_lake import DAY, SCHEMA, bars, write_half_then_fail
from fin_assets_tests.s3_server import s3_bucket, s3_lake_url, s3_server  # noqa: F401


class CountingFileSystem:
    """A filesystem that records the files opened for reading and the folders listed, and
    delegates everything."""

    def __init__(self, filesystem: pafs.FileSystem) -> None:
        self.filesystem = filesystem
        self.opened: list[str] = []
        self.listed: list[str] = []

    def get_file_info(self, paths: Any) -> Any:
        if isinstance(paths, pafs.FileSelector):
            self.listed.append(paths.base_dir)
        return self.filesystem.get_file_info(paths)

    def open_input_stream(self, path: str) -> Any:
        self.opened.append(path)
        return self.filesystem.open_input_stream(path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.filesystem, name)


def bucket_keys(s3_server: MotoS3, bucket: str) -> list[str]:  # noqa: F811
    listing = s3_server.client().list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_partition_round_trip_and_layout_on_s3(
    s3_server: MotoS3,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> None:
    lake = ParquetLake(f"s3://{s3_bucket}/lake")
    path = lake.write_partition("bars", bars([1.0, 2.0, 3.5]), trade_date=DAY, symbol="AAPL")

    key = "lake/bars/symbol=AAPL/trade_date=2024-01-02/part-0.parquet"
    assert path == f"{s3_bucket}/{key}"
    assert lake.uri(path) == f"s3://{s3_bucket}/{key}"
    assert bucket_keys(s3_server, s3_bucket) == [key]
    body = s3_server.client().get_object(Bucket=s3_bucket, Key=key)["Body"].read()
    assert pq.read_table(pa.BufferReader(body)).to_pydict()["close"] == [1.0, 2.0, 3.5]
    # One PutObject (ETag = MD5 of the bytes), not a multipart upload (ETag "<md5>-1").
    etag = s3_server.client().head_object(Bucket=s3_bucket, Key=key)["ETag"]
    assert etag.strip('"') == hashlib.md5(body).hexdigest()
    assert lake.read_partitions("bars", SCHEMA, [DAY], symbol="AAPL").to_pydict() == {
        "symbol": ["AAPL"] * 3,
        "trade_date": [DAY] * 3,
        "close": [1.0, 2.0, 3.5],
    }
    assert lake.existing_dates("bars", symbol="AAPL") == {DAY}


def test_failed_write_leaves_previous_object_and_no_upload(
    s3_server: MotoS3,  # noqa: F811
    s3_bucket: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake = ParquetLake(f"s3://{s3_bucket}/lake")
    lake.write_partition("bars", bars([1.0]), trade_date=DAY, symbol="AAPL")

    monkeypatch.setattr(pq, "write_table", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        lake.write_partition("bars", bars([9.0, 9.0]), trade_date=DAY, symbol="AAPL")
    monkeypatch.undo()

    assert lake.read_partitions("bars", SCHEMA, [DAY], "AAPL")["close"].to_pylist() == [1.0]
    assert bucket_keys(s3_server, s3_bucket) == [
        "lake/bars/symbol=AAPL/trade_date=2024-01-02/part-0.parquet"
    ]
    uploads = s3_server.client().list_multipart_uploads(Bucket=s3_bucket)
    assert uploads.get("Uploads", []) == []


def test_missing_partitions_and_dates_in_order_on_s3(s3_lake_url: str) -> None:  # noqa: F811
    lake = ParquetLake(s3_lake_url)
    days = [DAY + timedelta(days=i) for i in range(4)]
    for i, day in enumerate(days[:3]):
        lake.write_partition("bars", bars([float(i)], day, "X"), trade_date=day, symbol="X")

    table = lake.read_partitions("bars", SCHEMA, [days[2], days[0]], symbol="X")
    assert table["close"].to_pylist() == [0.0, 2.0]
    with pytest.raises(MissingPartitionsError) as caught:
        lake.read_partitions("bars", SCHEMA, days, symbol="X")
    assert str(caught.value) == (
        f"1 missing partition(s) of {s3_lake_url}/bars: (X, {date(2024, 1, 5).isoformat()})"
    )
    assert "moto-test-secret" not in str(caught.value)


def test_raw_objects_are_immutable_and_listed_on_s3(
    s3_server: MotoS3,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> None:
    lake = ParquetLake(f"s3://{s3_bucket}/lake")
    assert lake.put_object("raw/av/b/2.json", b'{"a": 1}') is True
    assert lake.put_object("raw/av/b/2.json", b'{"a": 1}') is False
    with pytest.raises(ImmutableObjectError, match="different content"):
        lake.put_object("raw/av/b/2.json", b'{"a": 2}')
    lake.put_object("raw/av/a/1.json", b"one")
    lake.put_object("other/x.json", b"x")

    assert lake.get_object("raw/av/b/2.json") == b'{"a": 1}'
    assert lake.list_objects("raw") == ["raw/av/a/1.json", "raw/av/b/2.json"]
    assert lake.list_objects("raw/av/b/") == ["raw/av/b/2.json"]
    assert lake.list_objects("none") == []
    with pytest.raises(FileNotFoundError, match=f"no object at s3://{s3_bucket}/lake/raw/x"):
        lake.get_object("raw/x")

    head = s3_server.client().head_object(Bucket=s3_bucket, Key="lake/raw/av/a/1.json")
    info = lake.object_info("raw/av/a/1.json")
    assert (info.key, info.size) == ("raw/av/a/1.json", 3)
    assert info.last_modified == head["LastModified"]
    assert [i.key for i in lake.list_object_infos("raw")] == lake.list_objects("raw")
    assert lake.object_etag("raw/av/a/1.json") == head["ETag"].strip('"')
    with pytest.raises(FileNotFoundError, match=f"no object at s3://{s3_bucket}/lake/raw/x"):
        lake.object_etag("raw/x")


def test_move_and_replace_objects_on_s3(s3_server: MotoS3, s3_bucket: str) -> None:  # noqa: F811
    lake = ParquetLake(f"s3://{s3_bucket}/lake")
    lake.put_object("landing/a.csv", b"abc")
    lake.replace_object("quarantine/a.csv.error.json", b"{}")
    lake.replace_object("quarantine/a.csv.error.json", b'{"v": 2}')
    lake.move_object("landing/a.csv", "quarantine/a.csv")

    assert lake.list_objects("") == ["quarantine/a.csv", "quarantine/a.csv.error.json"]
    assert lake.get_object("quarantine/a.csv") == b"abc"
    assert lake.get_object("quarantine/a.csv.error.json") == b'{"v": 2}'
    assert not lake.has_object("landing/a.csv")


def test_local_etag_is_the_md5_of_the_bytes(tmp_path: object) -> None:
    lake = ParquetLake(str(tmp_path))
    lake.put_object("landing/a.csv", b"abc")
    assert lake.object_etag("landing/a.csv") == hashlib.md5(b"abc").hexdigest()


@pytest.mark.parametrize(
    "uri",
    ["s3://AKIDEXAMPLE:wJalrXUtnFEMI@bucket/lake", "s3://bucket/lake?secret_key=wJalrXUtnFEMI"],
)
def test_a_lake_uri_with_credentials_is_refused_without_echoing_them(uri: str) -> None:
    with pytest.raises(ValueError, match="credential chain") as caught:
        ParquetLake(uri)
    assert "wJalrXUtnFEMI" not in str(caught.value)
    assert "AKIDEXAMPLE" not in str(caught.value)


def test_raw_to_indicators_runs_with_the_lake_on_s3(
    s3_server: MotoS3,  # noqa: F811
    s3_bucket: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    start, end = date(2025, 1, 1), date(2025, 1, 31)
    lake_url = f"s3://{s3_bucket}/lake"
    settings = Settings.local(tmp_path, dagster_pg_url="postgresql://unused")
    result = materialize(
        [
            asset_def("raw_quotes"),
            asset_def("intraday_bars"),
            asset_def("daily_bars"),
            asset_def("technical_indicators"),
        ],
        resources={**resources_for(settings), "lake": LakeResource(root=lake_url)},
        tags=range_tags(f"{start}|AAPL", f"{end}|MSFT"),
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success

    keys = bucket_keys(s3_server, s3_bucket)
    for dataset in ("intraday_bars", "daily_bars", "technical_indicators"):
        assert len([k for k in keys if k.startswith(f"lake/{dataset}/")]) == 2 * 31
    lake = ParquetLake(lake_url)
    universe = {s.symbol: s for s in load_universe()}
    sessions = sessions_in_range("XNYS", start, end)
    assert len(sessions) == 20
    for symbol in ("AAPL", "MSFT"):
        expected = [simulate_intraday(42, universe[symbol], day) for day in sessions]
        daily = lake.read_partitions("daily_bars", DAILY_BARS, calendar_dates(start, end), symbol)
        assert daily["trade_date"].to_pylist() == sessions
        assert daily["close"].to_pylist() == [bars["close"].iloc[-1] for bars in expected]
        assert daily["volume"].to_pylist() == [bars["volume"].sum() for bars in expected]
        indicators = lake.read_partitions("technical_indicators", INDICATORS, [end], symbol)
        closes = [bars["close"].iloc[-1] for bars in expected]
        assert indicators["sma_20"].to_pylist() == [pytest.approx(sum(closes) / 20, rel=1e-12)]


def test_publishing_a_staged_run_on_s3_copies_its_files_and_removes_its_staging(
    s3_server: MotoS3,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> None:
    url = f"s3://{s3_bucket}/lake"
    ParquetLake(url).write_partition("bars", bars([1.0]), trade_date=DAY, symbol="AAPL")
    run = "8c1f6a8e-0000-4000-8000-000000000001"
    staged = ParquetLake(url, staging_run=run)
    staged.open_staging(run)
    days = [DAY + timedelta(days=n) for n in range(3)]
    for n, day in enumerate(days):
        staged.write_partition("bars", bars([10.0 + n], day), trade_date=day, symbol="AAPL")
    staged.commit_staged(run)

    assert staged.publish_staged(run) == 3

    fresh = ParquetLake(url)
    assert fresh.read_partitions("bars", SCHEMA, days, "AAPL")["close"].to_pylist() == [
        10.0,
        11.0,
        12.0,
    ]
    # pyarrow keeps the emptied parent folder as a marker object: no file of the run is left.
    assert bucket_keys(s3_server, s3_bucket) == [
        "lake/_tmp_staging/",
        *(f"lake/bars/symbol=AAPL/trade_date={day}/part-0.parquet" for day in days),
    ]
    assert fresh.staged_runs() == {}


def test_a_run_reading_only_what_it_staged_lists_only_its_staging(
    s3_lake_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    run = "8c1f6a8e-0000-4000-8000-000000000002"
    staged = ParquetLake(s3_lake_url, staging_run=run, file_cache=LakeFileCache(tmp_path, 1 << 20))
    staged.write_partition("bars", bars([5.0]), trade_date=DAY, symbol="AAPL")
    counting = CountingFileSystem(staged.filesystem)
    staged.filesystem = counting  # type: ignore[assignment]

    assert staged.read_partitions("bars", SCHEMA, [DAY], "AAPL")["close"].to_pylist() == [5.0]
    assert [folder.split("/lake/", 1)[1] for folder in counting.listed] == [
        f"_tmp_staging/{run}/bars/symbol=AAPL"
    ]
