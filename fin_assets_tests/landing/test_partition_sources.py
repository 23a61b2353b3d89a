"""A session partition's raw sources in ascending precedence: the vendor's payloads in fetch
order, then the landing payloads in landing order (landing beats vendor)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from fin_assets.analytics.bars import RAW_COLUMNS
from fin_assets.landing.raw_store import RawPayload, store_payload
from fin_assets.landing.sources import partition_sources
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.market_data import SyntheticMarketSource, decode_payload
from fin_assets.testing.landing_files import csv_bytes, minute_bars
from fin_assets.universe import load_universe

DAY = date(2025, 1, 2)
AAPL = next(s for s in load_universe() if s.symbol == "AAPL")


def landing_payload(bars: pd.DataFrame) -> RawPayload:
    return RawPayload("landing", "landing", {}, csv_bytes(bars), "text/csv", "csv")


def test_vendor_payloads_come_first_then_landing_payloads_in_landing_order(
    tmp_path: Path,
) -> None:
    lake = ParquetLake(str(tmp_path / "lake"))
    vendor = SyntheticMarketSource().fetch_intraday(AAPL, DAY)
    assert vendor is not None
    first, second = minute_bars("XNYS", DAY, 0, 2, 10.0), minute_bars("XNYS", DAY, 1, 2, 20.0)
    # Landed second, stored first: landing order is the landing time, not the storing order.
    store_payload(
        lake, landing_payload(second), "AAPL", DAY.isoformat(), datetime(2025, 1, 3, tzinfo=UTC)
    )
    store_payload(lake, vendor, "AAPL", DAY.isoformat(), datetime(2025, 1, 2, 21, tzinfo=UTC))
    store_payload(
        lake, landing_payload(first), "AAPL", DAY.isoformat(), datetime(2025, 1, 2, 22, tzinfo=UTC)
    )

    sources = partition_sources(lake, decode_payload, "synthetic", "AAPL", DAY)

    assert [source for source, _ in sources] == ["synthetic", "landing", "landing"]
    vendor_bars = sources[0][1]
    assert len(vendor_bars) == 390 and vendor_bars["ts"].is_monotonic_increasing
    pd.testing.assert_frame_equal(sources[1][1], first[list(RAW_COLUMNS)])
    pd.testing.assert_frame_equal(sources[2][1], second[list(RAW_COLUMNS)])


def test_a_partition_without_payloads_names_both_prefixes(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path / "lake"))
    with pytest.raises(ValueError, match=r"raw/synthetic/.*raw/landing/"):
        partition_sources(lake, decode_payload, "synthetic", "AAPL", DAY)
