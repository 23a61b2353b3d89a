from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fin_assets.objects.store import ImmutableObjectError
from fin_assets.resources.lake import MissingPartitionsError, ParquetLake

SCHEMA = pa.schema([("symbol", pa.string()), ("trade_date", pa.date32()), ("close", pa.float64())])
DAY = date(2024, 1, 2)


def bars(closes: list[float], trade_date: date = DAY, symbol: str = "AAPL") -> pa.Table:
    n = len(closes)
    return pa.table(
        {"symbol": [symbol] * n, "trade_date": [trade_date] * n, "close": closes}, schema=SCHEMA
    )


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_round_trip_three_rows_hive_layout(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path / "lake"))
    path = lake.write_partition("bars", bars([1.0, 2.0, 3.5]), trade_date=DAY, symbol="AAPL")

    assert path == f"{tmp_path}/lake/bars/symbol=AAPL/trade_date=2024-01-02/part-0.parquet"
    assert files_under(tmp_path / "lake") == [
        "bars/symbol=AAPL/trade_date=2024-01-02/part-0.parquet"
    ]
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "SNAPPY"
    table = lake.read_partitions("bars", SCHEMA, [DAY], symbol="AAPL")
    assert table.schema == SCHEMA
    assert table.to_pydict() == {
        "symbol": ["AAPL"] * 3,
        "trade_date": [DAY] * 3,
        "close": [1.0, 2.0, 3.5],
    }


def test_zero_row_partition_keeps_schema(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path))
    path = lake.write_partition("bars", SCHEMA.empty_table(), trade_date=DAY, symbol="BTC")

    assert pq.read_schema(path).names == ["symbol", "trade_date", "close"]
    assert pq.read_schema(path).field("trade_date").type == pa.date32()
    table = lake.read_partitions("bars", SCHEMA, [DAY], symbol="BTC")
    assert table.num_rows == 0
    assert table.schema == SCHEMA


def test_date_only_dataset_layout(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path))
    lake.write_partition("corr", bars([0.5]), trade_date=DAY)

    assert files_under(tmp_path) == ["corr/trade_date=2024-01-02/part-0.parquet"]
    assert lake.existing_dates("corr") == {DAY}


def write_half_then_fail(table: pa.Table, where: pa.NativeFile, **kwargs: object) -> None:
    """A pq.write_table that writes part of a file, then fails."""
    where.write(b"PAR1 partial bytes")
    raise OSError("disk full")


def test_failed_write_keeps_previous_file_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = ParquetLake(str(tmp_path))
    path = lake.write_partition("bars", bars([1.0]), trade_date=DAY, symbol="AAPL")
    before = Path(path).read_bytes()

    monkeypatch.setattr(pq, "write_table", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        lake.write_partition("bars", bars([9.0, 9.0]), trade_date=DAY, symbol="AAPL")

    assert Path(path).read_bytes() == before
    assert files_under(tmp_path) == ["bars/symbol=AAPL/trade_date=2024-01-02/part-0.parquet"]


def test_overwrite_replaces(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path))
    lake.write_partition("bars", bars([1.0, 2.0]), trade_date=DAY, symbol="AAPL")
    lake.write_partition("bars", bars([7.0]), trade_date=DAY, symbol="AAPL")

    table = lake.read_partitions("bars", SCHEMA, [DAY], symbol="AAPL")
    assert table["close"].to_pylist() == [7.0]
    assert len(files_under(tmp_path)) == 1


def test_rows_of_another_partition_are_rejected(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path))
    with pytest.raises(ValueError, match="trade_date values"):
        lake.write_partition("bars", bars([1.0], trade_date=DAY), trade_date=date(2024, 1, 3))
    with pytest.raises(ValueError, match="symbol values"):
        lake.write_partition("bars", bars([1.0], symbol="MSFT"), trade_date=DAY, symbol="AAPL")
    with pytest.raises(ValueError, match="invalid symbol"):
        lake.write_partition("bars", bars([1.0], symbol="A/B"), trade_date=DAY, symbol="A/B")
    assert files_under(tmp_path) == []


def test_missing_partitions_error_lists_first_ten_and_count(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path))
    lake.write_partition("bars", bars([1.0]), trade_date=DAY, symbol="AAPL")
    wanted = [DAY + timedelta(days=i) for i in range(13)]

    with pytest.raises(MissingPartitionsError) as caught:
        lake.read_partitions("bars", SCHEMA, wanted, symbol="AAPL")

    message = str(caught.value)
    assert message.startswith("12 missing partition(s)")
    assert "(AAPL, 2024-01-03), (AAPL, 2024-01-04)" in message
    assert "(AAPL, 2024-01-12) ..." in message
    assert "2024-01-13" not in message
    assert "2024-01-02" not in message


def test_existing_dates_ignores_temp_files_and_other_symbols(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path))
    for day in (date(2024, 1, 2), date(2024, 1, 5)):
        lake.write_partition("bars", bars([1.0], trade_date=day), trade_date=day, symbol="AAPL")
    lake.write_partition("bars", bars([1.0], symbol="MSFT"), trade_date=DAY, symbol="MSFT")
    temp_dir = tmp_path / "bars/symbol=AAPL/trade_date=2024-01-08"
    temp_dir.mkdir()
    (temp_dir / ".abc.tmp").write_bytes(b"partial")

    assert lake.existing_dates("bars", symbol="AAPL") == {date(2024, 1, 2), date(2024, 1, 5)}
    assert lake.existing_dates("bars", symbol="MSFT") == {DAY}
    assert lake.existing_dates("bars", symbol="NVDA") == set()
    assert lake.existing_dates("nothing") == set()


def test_read_many_partitions_in_date_order(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path))
    days = [DAY + timedelta(days=i) for i in range(6)]
    for i, day in enumerate(reversed(days)):
        lake.write_partition(
            "bars", bars([float(i)], trade_date=day), trade_date=day, symbol="AAPL"
        )

    table = lake.read_partitions("bars", SCHEMA, [days[3], days[0], days[5], days[1]], "AAPL")
    assert table["trade_date"].to_pylist() == [days[0], days[1], days[3], days[5]]
    assert table["close"].to_pylist() == [5.0, 4.0, 2.0, 0.0]


def test_read_casts_to_schema_and_rejects_missing_columns(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path))
    narrow = pa.table({"trade_date": [DAY], "close": pa.array([3], pa.int32()), "extra": [1]})
    lake.write_partition("ints", narrow, trade_date=DAY)

    wanted = pa.schema([("close", pa.float64()), ("trade_date", pa.date32())])
    assert lake.read_partitions("ints", wanted, [DAY]).to_pydict() == {
        "close": [3.0],
        "trade_date": [DAY],
    }
    with pytest.raises(ValueError, match=r"lacks columns \['symbol'\]"):
        lake.read_partitions("ints", SCHEMA, [DAY])


def test_put_object_is_idempotent_and_immutable(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path))

    assert lake.put_object("raw/av/AAPL/2024-01-02.json", b'{"a": 1}') is True
    assert lake.put_object("raw/av/AAPL/2024-01-02.json", b'{"a": 1}') is False
    with pytest.raises(ImmutableObjectError, match="different content"):
        lake.put_object("raw/av/AAPL/2024-01-02.json", b'{"a": 2}')
    assert lake.get_object("raw/av/AAPL/2024-01-02.json") == b'{"a": 1}'
    assert (tmp_path / "raw/av/AAPL/2024-01-02.json").read_bytes() == b'{"a": 1}'


def test_list_and_get_objects(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path))
    for key in ("raw/b/2.json", "raw/a/1.json", "raw/b/1.json", "other/x.json"):
        lake.put_object(key, key.encode())
    (tmp_path / "raw/a/.tmp123").write_bytes(b"partial")

    assert lake.list_objects("raw") == ["raw/a/1.json", "raw/b/1.json", "raw/b/2.json"]
    assert lake.list_objects("raw/b/") == ["raw/b/1.json", "raw/b/2.json"]
    assert lake.list_objects("none") == []
    assert lake.get_object("raw/b/1.json") == b"raw/b/1.json"
    with pytest.raises(FileNotFoundError, match="no object"):
        lake.get_object("raw/missing.json")
    with pytest.raises(ValueError, match="invalid object key"):
        lake.put_object("../escape.json", b"x")


def test_file_uri_root_and_uri_helper(tmp_path: Path) -> None:
    lake = ParquetLake(f"file://{tmp_path}/lake")
    path = lake.write_partition("bars", bars([1.0]), trade_date=DAY, symbol="AAPL")

    assert (tmp_path / "lake/bars/symbol=AAPL/trade_date=2024-01-02/part-0.parquet").is_file()
    assert lake.uri(path) == path


def write_aged(lake: ParquetLake, closes: list[float], trade_date: date, age_seconds: int) -> int:
    """Write AAPL's partition of trade_date and set its modification time age_seconds back;
    returns the file's size."""
    path = Path(
        lake.write_partition("bars", bars(closes, trade_date), trade_date=trade_date, symbol="AAPL")
    )
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path.stat().st_size


def tamper(lake: ParquetLake, closes: list[float], trade_date: date) -> None:
    """Rewrite the partition file behind the lake's back with equal size and modification time:
    what the read cache cannot tell from the file it read."""
    path = Path(lake.partition_path("bars", trade_date, "AAPL"))
    before = path.stat()
    pq.write_table(bars(closes, trade_date), path, compression="snappy")
    assert path.stat().st_size == before.st_size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def read_close(lake: ParquetLake, trade_date: date) -> list[float]:
    return lake.read_partitions("bars", SCHEMA, [trade_date], "AAPL")["close"].to_pylist()


def test_read_cache_keeps_settled_files_and_rereads_changed_ones(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path))
    write_aged(lake, [1.0], DAY, age_seconds=60)
    assert read_close(lake, DAY) == [1.0]

    tamper(lake, [2.0], DAY)
    assert read_close(lake, DAY) == [1.0]
    lake.write_partition("bars", bars([3.0]), trade_date=DAY, symbol="AAPL")
    assert read_close(lake, DAY) == [3.0]
    assert read_close(ParquetLake(str(tmp_path)), DAY) == [3.0]


def test_read_cache_skips_files_modified_within_the_racy_window(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path))
    write_aged(lake, [1.0], DAY, age_seconds=0)
    assert read_close(lake, DAY) == [1.0]

    tamper(lake, [2.0], DAY)
    assert read_close(lake, DAY) == [2.0]


def test_read_cache_drops_least_recently_used_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("fin_assets.resources.lake.MAX_CACHED_FILES", 2)
    lake = ParquetLake(str(tmp_path))
    days = [DAY + timedelta(days=i) for i in range(3)]
    for day in days:
        write_aged(lake, [1.0], day, age_seconds=60)
    assert lake.read_partitions("bars", SCHEMA, days, "AAPL")["close"].to_pylist() == [1.0] * 3

    for day in days:
        tamper(lake, [2.0], day)
    assert [read_close(lake, day) for day in reversed(days)] == [[1.0], [1.0], [2.0]]


def test_threads_reading_through_one_lake_get_every_partition_once_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight threads read overlapping ranges through one lake whose cache holds fewer files
    than they read (so they evict each other's): every read is the written rows."""
    monkeypatch.setattr("fin_assets.resources.lake.MAX_CACHED_FILES", 5)
    lake = ParquetLake(str(tmp_path))
    days = [DAY + timedelta(days=i) for i in range(12)]
    for index, day in enumerate(days):
        write_aged(lake, [float(index)], day, age_seconds=60)

    def read(offset: int) -> list[float]:
        wanted = days[offset % 4 : offset % 4 + 8]
        return lake.read_partitions("bars", SCHEMA, wanted, "AAPL")["close"].to_pylist()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(read, range(200)))
    assert results == [[float(i) for i in range(n % 4, n % 4 + 8)] for n in range(200)]
