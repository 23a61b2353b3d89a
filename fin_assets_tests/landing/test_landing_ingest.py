"""Landing files into the raw layer or quarantine, on moto S3: formats, splitting, rejections."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fin_assets.landing.contract import LANDING_VENDOR, LandingFileRejected
from fin_assets.landing.ingest import (
    ingest_landing_file,
    ingest_landing_files,
    read_landing_payloads,
)
from fin_assets.landing.limits import LandingLimits
from fin_assets.landing.parsing import parse_landing_file
from fin_assets.landing.raw_store import raw_partition_prefix
from fin_assets.resources.lake import ParquetLake
from fin_assets.testing.landing_files import (
    csv_bytes,
    json_bytes,
    minute_bars,
    parquet_bytes,
    put,
)
from fin_assets.universe import load_universe
from fin_assets_tests.s3_server import s3_bucket, s3_server  # noqa: F401

UNIVERSE = {s.symbol: s for s in load_universe()}
LIMITS = LandingLimits()
FIRST = date(2025, 1, 1)
JAN2, JAN3, JAN6 = date(2025, 1, 2), date(2025, 1, 3), date(2025, 1, 6)


def ingest(bucket: str, key: str, content: bytes) -> tuple[ParquetLake, object]:
    put(bucket, key, content)
    lake = ParquetLake(f"s3://{bucket}/lake")
    return lake, ingest_landing_file(lake, key, UNIVERSE, FIRST, LIMITS)


def test_timestamp_forms_parse_to_the_same_bars() -> None:
    expected = minute_bars("XNYS", JAN2, 0, 2, 10.0)
    z_text = csv_bytes(expected).replace(b"+00:00", b"Z")
    ms_parquet = parquet_bytes(expected.assign(ts=expected["ts"].dt.as_unit("ms")))
    epoch_parquet = parquet_bytes(expected.assign(ts=expected["ts"].astype("int64") // 1000))
    for content, file_format in [
        (csv_bytes(expected), "csv"),
        (z_text, "csv"),
        (json_bytes(expected), "json"),
        (ms_parquet, "parquet"),
        (epoch_parquet, "parquet"),
    ]:
        bars = parse_landing_file(content, file_format).bars
        pd.testing.assert_frame_equal(bars, expected, check_dtype=True)
        assert str(bars["ts"].dtype) == "datetime64[us, UTC]"


def test_a_range_file_is_split_per_trade_date_with_its_rows_unchanged(
    s3_bucket: str,  # noqa: F811
) -> None:
    friday = minute_bars("XNYS", JAN3, 0, 2, 10.0)
    monday = minute_bars("XNYS", JAN6, 389, 1, 20.0)
    content = csv_bytes(pd.concat([friday, monday], ignore_index=True))
    lines = content.decode().splitlines()

    lake, accepted = ingest(s3_bucket, "landing/AAPL/2025-01-03_2025-01-06/weekly.csv", content)

    assert (accepted.rows, accepted.payloads_stored, accepted.payloads_unchanged) == (3, 2, 0)
    assert accepted.session_dates == (JAN3, JAN6)
    friday_keys = lake.list_objects("raw/landing/symbol=AAPL/trade_date=2025-01-03")
    monday_keys = lake.list_objects("raw/landing/symbol=AAPL/trade_date=2025-01-06")
    assert lake.get_object(friday_keys[0]).decode().splitlines() == lines[:3]
    assert lake.get_object(monday_keys[0]).decode().splitlines() == [lines[0], lines[3]]
    assert lake.list_objects("raw/landing/symbol=AAPL/trade_date=2025-01-04") == []
    [payload] = read_landing_payloads(lake, monday_keys)
    pd.testing.assert_frame_equal(payload, monday)
    assert lake.list_objects("landing") == ["landing/AAPL/2025-01-03_2025-01-06/weekly.csv"]


def test_a_one_date_file_is_stored_byte_for_byte_once(s3_bucket: str) -> None:  # noqa: F811
    content = parquet_bytes(minute_bars("24/7", JAN2, 0, 1440, 95_000.0))
    key = "landing/BTC/2025-01-02/day.parquet"

    lake, accepted = ingest(s3_bucket, key, content)
    again = ingest_landing_file(lake, key, UNIVERSE, FIRST, LIMITS)

    keys = lake.list_objects("raw")
    assert len(keys) == 1
    assert keys[0].startswith("raw/landing/symbol=BTC/trade_date=2025-01-02/")
    assert keys[0].endswith(".parquet")
    assert lake.get_object(keys[0]) == content
    assert (accepted.payloads_stored, again.payloads_stored, again.payloads_unchanged) == (1, 0, 1)


def truncated_csv() -> bytes:
    content = csv_bytes(minute_bars("XNYS", JAN2, 0, 3, 10.0))
    return content[: content.rindex(b",", 0, len(content) - 10)]


def wrong_columns() -> bytes:
    return csv_bytes(minute_bars("XNYS", JAN2, 0, 2, 10.0)).replace(b"volume", b"vol", 1)


def bad_rows_json() -> bytes:
    rows = json.loads(json_bytes(minute_bars("XNYS", JAN2, 0, 3, 10.0)))
    rows[1]["high"] = 1.0
    rows[2]["ts"] = rows[0]["ts"]
    return json.dumps(rows).encode()


REJECTIONS = {
    "truncated csv": (
        "landing/AAPL/2025-01-02/cut.csv",
        truncated_csv(),
        ["every CSV row needs 6 fields (truncated file?): ts 2025-01-02T14:32:00+00:00 has 4"],
    ),
    "wrong columns": (
        "landing/AAPL/2025-01-02/columns.csv",
        wrong_columns(),
        [
            "columns must be exactly ['ts', 'open', 'high', 'low', 'close', 'volume']: "
            "missing columns ['volume'], extra columns ['vol']"
        ],
    ),
    "symbol not in the universe": (
        "landing/TSLA/2025-01-02/tsla.csv",
        csv_bytes(minute_bars("XNYS", JAN2, 0, 2, 10.0)),
        ["symbol 'TSLA' is not in the universe"],
    ),
    "dates outside the key": (
        "landing/AAPL/2025-01-02/next-day.csv",
        csv_bytes(
            minute_bars("XNYS", JAN2, 389, 1, 10.0).pipe(
                lambda f: pd.concat([f, minute_bars("XNYS", JAN3, 0, 2, 10.0)], ignore_index=True)
            )
        ),
        [
            "2 rows are not bar-open minutes of XNYS sessions within 2025-01-02..2025-01-02: "
            "ts 2025-01-03T14:30:00+00:00, ts 2025-01-03T14:31:00+00:00"
        ],
    ),
    "truncated parquet": (
        "landing/AAPL/2025-01-02/cut.parquet",
        parquet_bytes(minute_bars("XNYS", JAN2, 0, 3, 10.0))[:-20],
        None,
    ),
    "inconsistent OHLC and duplicate ts": (
        "landing/AAPL/2025-01-02/bad.json",
        bad_rows_json(),
        [
            "2 rows share their ts with another row (2025-01-02T14:30:00+00:00)",
            "high/low miss open/close by more than the OHLC repair tolerance (0.5%) in 1 bars: "
            "2025-01-02T14:31:00+00:00",
        ],
    ),
}


@pytest.mark.parametrize("case", list(REJECTIONS))
def test_a_malformed_file_is_quarantined_and_nothing_reaches_raw(
    s3_bucket: str,  # noqa: F811
    case: str,
) -> None:
    key, content, problems = REJECTIONS[case]
    put(s3_bucket, key, content)
    lake = ParquetLake(f"s3://{s3_bucket}/lake")

    with pytest.raises(LandingFileRejected) as caught:
        ingest_landing_file(lake, key, UNIVERSE, FIRST, LIMITS)

    [report_key] = [k for k in lake.list_objects(f"quarantine/{key}") if k.endswith(".error.json")]
    [quarantined] = [k for k in lake.list_objects(f"quarantine/{key}") if k != report_key]
    assert quarantined == report_key.removesuffix(".error.json") + "." + key.rsplit(".", 1)[1]
    report = json.loads(lake.get_object(report_key))
    if problems is None:
        assert report["problems"][0].startswith("not a readable Parquet file (truncated?)")
    else:
        assert report["problems"] == problems
    assert caught.value.problems == report["problems"]
    assert report["key"] == key
    assert report["quarantined_as"] == quarantined == caught.value.quarantined_as
    assert lake.get_object(quarantined) == content
    assert lake.list_objects("landing") == []
    assert lake.list_objects("raw") == []
    with pytest.raises(LandingFileRejected) as retried:
        ingest_landing_file(lake, key, UNIVERSE, FIRST, LIMITS)
    assert retried.value.problems == report["problems"]


def test_a_session_date_of_the_range_without_rows_is_rejected(s3_bucket: str) -> None:  # noqa: F811
    content = csv_bytes(minute_bars("XNYS", JAN2, 0, 2, 10.0))
    put(s3_bucket, "landing/AAPL/2025-01-02_2025-01-03/gap.csv", content)
    lake = ParquetLake(f"s3://{s3_bucket}/lake")

    with pytest.raises(LandingFileRejected, match="session dates without rows: 2025-01-03"):
        ingest_landing_file(
            lake, "landing/AAPL/2025-01-02_2025-01-03/gap.csv", UNIVERSE, FIRST, LIMITS
        )
    assert lake.list_objects("raw") == []


def test_naive_or_out_of_range_timestamps_and_text_numbers_are_rejected() -> None:
    bars = minute_bars("XNYS", JAN2, 0, 2, 10.0)
    naive = csv_bytes(bars).replace(b"+00:00", b"")
    with pytest.raises(ValueError, match="ts must be ISO-8601 with a UTC offset or epoch ms"):
        parse_landing_file(naive, "csv")
    huge = b"ts,open,high,low,close,volume\n99999999999999999999999,1,1,1,1,1\n"
    with pytest.raises(ValueError, match="ts has epoch ms values out of range"):
        parse_landing_file(huge, "csv")
    texts = pa.Table.from_pandas(bars.astype({"open": str}), preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(texts, sink)
    with pytest.raises(ValueError, match="open must be numeric, not string"):
        parse_landing_file(sink.getvalue().to_pybytes(), "parquet")


def test_a_runs_files_are_ingested_together_in_order_and_the_first_rejection_raises(
    s3_bucket: str,  # noqa: F811
) -> None:
    """ingest_landing_files: every file is ingested, the results follow the keys, and the first
    rejected file (in key order) raises."""
    symbols = [s for s in UNIVERSE if UNIVERSE[s].calendar == "XNYS"][:6]
    keys = [f"landing/{symbol}/2025-01-02/{symbol}.csv" for symbol in symbols]
    for key in keys:
        put(s3_bucket, key, csv_bytes(minute_bars("XNYS", JAN2, 0, 2, 10.0)))
    lake = ParquetLake(f"s3://{s3_bucket}/lake")

    accepted = ingest_landing_files(lake, keys, UNIVERSE, FIRST, LIMITS)

    assert [file.key.symbol for file in accepted] == symbols
    assert all(file.payloads_stored == 1 for file in accepted)
    bad = [f"landing/{symbol}/2025-01-03/{symbol}.csv" for symbol in symbols[1:3]]
    good = f"landing/{symbols[0]}/2025-01-03/{symbols[0]}.csv"
    put(s3_bucket, good, csv_bytes(minute_bars("XNYS", JAN3, 0, 2, 10.0)))
    for key in bad:
        put(s3_bucket, key, b"ts,open\n")
    with pytest.raises(LandingFileRejected) as caught:
        ingest_landing_files(lake, [good, *bad], UNIVERSE, FIRST, LIMITS)
    assert caught.value.quarantined_as.startswith(f"quarantine/{bad[0]}")
    assert all(lake.list_objects(f"quarantine/{key}") for key in bad)
    assert lake.list_objects(raw_partition_prefix(LANDING_VENDOR, symbols[0], str(JAN3)))
