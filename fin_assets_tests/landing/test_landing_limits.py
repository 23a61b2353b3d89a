"""Landing size limits: rows counted before content is decoded, bytes before it is read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from fin_assets.landing.contract import LandingContractError, LandingFileRejected
from fin_assets.landing.ingest import ingest_landing_file
from fin_assets.landing.limits import LandingLimits
from fin_assets.landing.parsing import parse_landing_file
from fin_assets.resources.lake import ParquetLake
from fin_assets.testing.landing_files import (
    csv_bytes,
    json_bytes,
    minute_bars,
    parquet_bytes,
)
from fin_assets.universe import load_universe

JAN2 = date(2025, 1, 2)
UNIVERSE = {s.symbol: s for s in load_universe()}
THREE_ROWS = minute_bars("XNYS", JAN2, 0, 3, 100.0)
TOO_MANY = "the file holds {} rows, more than the limit of 2 (FIN_LANDING_MAX_ROWS)"


@pytest.mark.parametrize(
    ("file_format", "content", "found"),
    [
        ("parquet", parquet_bytes(THREE_ROWS), "3"),
        ("csv", csv_bytes(THREE_ROWS), "at least 3"),
        ("csv", csv_bytes(THREE_ROWS).replace(b"\n", b"\n\n"), "at least 3"),
        ("json", json_bytes(THREE_ROWS), "up to 3"),
        ("json", b"[" + b",".join([b"1"] * 13) + b"]", "up to 2"),
    ],
)
def test_more_rows_than_the_limit_are_refused_before_decoding(
    file_format: str, content: bytes, found: str
) -> None:
    with pytest.raises(LandingContractError) as caught:
        parse_landing_file(content, file_format, max_rows=2)
    assert caught.value.problems == [TOO_MANY.format(found)]


@pytest.mark.parametrize(
    ("file_format", "content"),
    [
        ("parquet", parquet_bytes(THREE_ROWS)),
        ("csv", csv_bytes(THREE_ROWS).replace(b"\n", b"\r\n\n")),
        ("json", json_bytes(THREE_ROWS)),
    ],
)
def test_a_file_at_the_row_limit_parses(file_format: str, content: bytes) -> None:
    bars = parse_landing_file(content, file_format, max_rows=3).bars
    assert bars["open"].tolist() == [100.0, 101.0, 102.0]


def test_a_file_over_the_byte_limit_is_quarantined_unread(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path))
    key = "landing/AAPL/2025-01-02/big.csv"
    content = csv_bytes(THREE_ROWS)
    lake.put_object(key, content)

    with pytest.raises(LandingFileRejected) as caught:
        ingest_landing_file(lake, key, UNIVERSE, JAN2, LandingLimits(max_bytes=len(content) - 1))

    assert caught.value.problems == [
        f"the file is {len(content)} bytes, more than the limit of {len(content) - 1} "
        "(FIN_LANDING_MAX_BYTES)"
    ]
    assert lake.get_object(caught.value.quarantined_as) == content
    assert lake.list_objects("raw") == []
