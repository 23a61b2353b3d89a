"""The lake's file cache: copies of an object-store lake's partition files on the local disk,
shared by lakes (processes) of one host, keyed by each file's path, size and modification time."""

from __future__ import annotations

import os
import random
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pytest

from fin_assets.resources import lake as lake_module
from fin_assets.resources.environments import lake_resource
from fin_assets.resources.lake import STAGING_DIR, ParquetLake
from fin_assets.resources.lake_file_cache import LakeFileCache
from fin_assets.settings import Settings, exported, get_settings
from fin_assets_tests.resources.test_lake import DAY, SCHEMA, bars
from fin_assets_tests.resources.test_lake_s3 import CountingFileSystem
from fin_assets_tests.s3_server import s3_bucket, s3_lake_url, s3_server  # noqa: F401

DAYS = [DAY + timedelta(days=n) for n in range(3)]
MAX_BYTES = 1 << 20


def counting_lake(
    url: str, cache: LakeFileCache, staging_run: str | None = None
) -> tuple[ParquetLake, CountingFileSystem]:
    lake = ParquetLake(url, staging_run=staging_run, file_cache=cache)
    counting = CountingFileSystem(lake.filesystem)
    lake.filesystem = counting  # type: ignore[assignment]
    return lake, counting


def write_days(lake: ParquetLake, offset: float = 0.0) -> None:
    for n, day in enumerate(DAYS):
        table = bars([n + offset, n + offset + 0.5], day, "X")
        lake.write_partition("bars", table, trade_date=day, symbol="X")


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files count as settled as soon as they are written (no racy window to wait out)."""
    monkeypatch.setattr(lake_module, "RACY_SECONDS", -1)


def test_a_new_lake_reads_the_files_a_lake_before_it_copied(
    s3_lake_url: str,  # noqa: F811
    tmp_path: Path,
    settled: None,
) -> None:
    write_days(ParquetLake(s3_lake_url))
    cache = LakeFileCache(tmp_path / "cache", MAX_BYTES)
    first, first_store = counting_lake(s3_lake_url, cache)
    expected = ParquetLake(s3_lake_url).read_partitions("bars", SCHEMA, DAYS, symbol="X")

    assert first.read_partitions("bars", SCHEMA, DAYS, symbol="X").equals(expected)
    assert len(first_store.opened) == 3
    assert len(list((tmp_path / "cache").glob("*/*.parquet"))) == 3
    # Another process's lake (its own in-memory cache, empty): every file from the disk.
    second, second_store = counting_lake(s3_lake_url, LakeFileCache(tmp_path / "cache", MAX_BYTES))
    table = second.read_partitions("bars", SCHEMA, DAYS, symbol="X")
    assert table.equals(expected)
    assert table.schema == SCHEMA
    assert second_store.opened == []


def test_a_rewritten_file_is_read_from_the_store_again(
    s3_lake_url: str,  # noqa: F811
    tmp_path: Path,
    settled: None,
) -> None:
    write_days(ParquetLake(s3_lake_url))
    ParquetLake(s3_lake_url, file_cache=LakeFileCache(tmp_path, MAX_BYTES)).read_partitions(
        "bars", SCHEMA, DAYS, symbol="X"
    )
    time.sleep(1.1)  # S3 keeps modification times to the second
    ParquetLake(s3_lake_url).write_partition(
        "bars", bars([7.0, 7.5], DAYS[1], "X"), trade_date=DAYS[1], symbol="X"
    )

    lake, store = counting_lake(s3_lake_url, LakeFileCache(tmp_path, MAX_BYTES))
    table = lake.read_partitions("bars", SCHEMA, DAYS, symbol="X")
    assert table["close"].to_pylist() == [0.0, 0.5, 7.0, 7.5, 2.0, 2.5]
    assert [path.rsplit("/", 2)[1] for path in store.opened] == [f"trade_date={DAYS[1]}"]


def test_files_modified_in_the_racy_window_are_not_copied(
    s3_lake_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    write_days(ParquetLake(s3_lake_url))
    lake = ParquetLake(s3_lake_url, file_cache=LakeFileCache(tmp_path, MAX_BYTES))

    assert lake.read_partitions("bars", SCHEMA, DAYS, symbol="X").num_rows == 6
    assert list(tmp_path.rglob("*.parquet")) == []


def test_a_cache_folder_that_cannot_be_written_never_fails_a_read(
    s3_lake_url: str,  # noqa: F811
    tmp_path: Path,
    settled: None,
) -> None:
    write_days(ParquetLake(s3_lake_url))
    blocked = tmp_path / "not_a_folder"
    blocked.write_text("a file where the cache folder should be")
    lake = ParquetLake(s3_lake_url, file_cache=LakeFileCache(blocked, MAX_BYTES))

    assert lake.read_partitions("bars", SCHEMA, DAYS, symbol="X")["close"].to_pylist() == [
        0.0,
        0.5,
        1.0,
        1.5,
        2.0,
        2.5,
    ]


def test_a_missing_column_is_named_as_without_the_cache(
    s3_lake_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    write_days(ParquetLake(s3_lake_url))
    wider = SCHEMA.append(pa.field("volume", pa.int64()))
    lake = ParquetLake(s3_lake_url, file_cache=LakeFileCache(tmp_path, MAX_BYTES))

    with pytest.raises(ValueError, match=r"lacks columns \['volume'\]"):
        lake.read_partitions("bars", wider, DAYS, symbol="X")


def info(path: str, size: int, mtime_ns: int = 1_700_000_000_000_000_000) -> pafs.FileInfo:
    return pafs.FileInfo(path, pafs.FileType.File, mtime_ns=mtime_ns, size=size)


def test_a_copy_is_found_only_for_the_same_path_size_and_time(tmp_path: Path) -> None:
    cache = LakeFileCache(tmp_path, MAX_BYTES)
    cache.put(info("b/x/part-0.parquet", 4), b"abcd")

    assert cache.get(info("b/x/part-0.parquet", 4)) == b"abcd"
    assert cache.get(info("b/x/part-0.parquet", 5)) is None
    assert cache.get(info("b/x/part-0.parquet", 4, mtime_ns=1)) is None
    assert cache.get(info("b/y/part-0.parquet", 4)) is None


def test_the_least_recently_used_copies_go_when_the_folder_is_full(tmp_path: Path) -> None:
    cache = LakeFileCache(tmp_path, max_bytes=1000)
    for n in range(9):
        cache.put(info(f"b/{n}", 100), bytes(100))
        copy = cache.copy_path(info(f"b/{n}", 100))
        os.utime(copy, ns=(n * 10**9, n * 10**9))
    assert cache.get(info("b/0", 100)) is not None  # used now: the most recent
    cache.put(info("b/9", 100), bytes(100))
    cache.put(info("b/10", 100), bytes(100))  # 1,100 bytes: over the limit, down to 800

    kept = [n for n in range(11) if cache.get(info(f"b/{n}", 100)) is not None]
    assert kept == [0, 4, 5, 6, 7, 8, 9, 10]


def test_a_staging_lake_reads_back_what_it_staged_without_the_store(
    s3_lake_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    run = "8c1f6a8e-0000-4000-8000-000000000003"
    lake, store = counting_lake(s3_lake_url, LakeFileCache(tmp_path, MAX_BYTES), run)
    write_days(lake)

    table = lake.read_partitions("bars", SCHEMA, DAYS, symbol="X")
    assert table.equals(
        ParquetLake(s3_lake_url, staging_run=run).read_partitions("bars", SCHEMA, DAYS, symbol="X")
    )
    assert store.opened == []
    # Another process of the run rewrote a file (another size): that one comes from the store.
    other = ParquetLake(s3_lake_url, staging_run=run)
    other.write_partition(
        "bars", bars([7.0, 7.5, 8.0], DAYS[1], "X"), trade_date=DAYS[1], symbol="X"
    )
    table = lake.read_partitions("bars", SCHEMA, DAYS, symbol="X")
    assert table["close"].to_pylist() == [0.0, 0.5, 7.0, 7.5, 8.0, 2.0, 2.5]
    assert [path.rsplit("/", 2)[1] for path in store.opened] == [f"trade_date={DAYS[1]}"]


def test_the_staged_bytes_kept_are_bounded(
    s3_lake_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = "8c1f6a8e-0000-4000-8000-000000000004"
    lake, store = counting_lake(s3_lake_url, LakeFileCache(tmp_path, MAX_BYTES), run)
    write_days(lake)
    staged_path = lake.partition_path("bars", DAYS[0], "X", f"{lake.root}/{STAGING_DIR}/{run}")
    size = store.get_file_info(staged_path).size
    monkeypatch.setattr(lake_module, "MAX_STAGED_WRITE_BYTES", 2 * size + 1)
    write_days(lake, offset=10.0)  # the same sizes: the first day's bytes are dropped

    table = lake.read_partitions("bars", SCHEMA, DAYS, symbol="X")
    assert table["close"].to_pylist() == [10.0, 10.5, 11.0, 11.5, 12.0, 12.5]
    assert [path.rsplit("/", 2)[1] for path in store.opened] == [f"trade_date={DAYS[0]}"]


def test_the_settings_size_the_file_cache_or_turn_it_off(tmp_path: Path) -> None:
    settings = replace(Settings.local(tmp_path, ""), lake_cache_max_bytes=1000)
    resource = lake_resource(settings)
    assert (resource.file_cache_dir, resource.file_cache_max_bytes) == (
        str(tmp_path / "lake_cache"),
        1000,
    )
    assert lake_resource(replace(settings, lake_cache_max_bytes=0)).file_cache_dir == ""
    environment = {**settings.environment(), "FIN_LAKE_CACHE_MAX_BYTES": "0"}
    with exported(environment):
        assert get_settings().lake_cache_max_bytes == 0


def test_processes_that_each_store_little_still_keep_the_folder_bounded(tmp_path: Path) -> None:
    """Each run worker is a new process with a new cache object storing a few files: together
    they keep the folder near its bound (sweeps happen by chance, seeded here)."""
    random.seed(20261207)
    for n in range(300):
        LakeFileCache(tmp_path, max_bytes=10_000).put(info(f"b/{n}", 100), bytes(100))

    assert sum(path.stat().st_size for path in tmp_path.glob("*/*")) <= 12_000
