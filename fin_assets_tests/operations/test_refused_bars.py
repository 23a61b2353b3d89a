"""Bars refused by the OHLC tolerance (issue #16 item 4): counted where the landing file is
refused, listed by timestamp in its quarantine report, and served as
`fin_assets_ohlc_refused_bars{source="landing"}` by the exporter's scrape of the lake."""

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dagster import DagsterInstance

from fin_assets.landing.contract import LandingFileRejected
from fin_assets.landing.ingest import ingest_landing_file
from fin_assets.landing.limits import LandingLimits
from fin_assets.operations.config import OperationsConfig
from fin_assets.operations.sources import PlatformSources
from fin_assets.settings import Settings
from fin_assets.testing.landing_files import csv_bytes
from fin_assets.universe import load_universe
from fin_assets_tests.operations.samples import samples

TOLERANCE = 0.005  # docs/landing.md: a bar missing open/close by more than 0.5 % is refused


def bars(day: date, broken: dict[int, tuple[float, float]]) -> pd.DataFrame:
    """An hour of consistent one-minute BTC bars from 00:00 UTC on `day`, with `broken`:
    minute → (high, low) replacing that bar's."""
    ts = pd.date_range(pd.Timestamp(day, tz="UTC"), periods=60, freq="1min")
    frame = pd.DataFrame(
        {
            "ts": ts,
            "open": 100.0,
            "high": 100.4,
            "low": 99.6,
            "close": 100.2,
            "volume": 3.0,
        }
    )
    for minute, (high, low) in broken.items():
        frame.loc[minute, ["high", "low"]] = [high, low]
    return frame


def beyond_tolerance(frame: pd.DataFrame) -> list[str]:
    """The bars missing open/close by more than TOLERANCE, counted here bar by bar."""
    found = []
    for row in frame.itertuples():
        top, bottom = max(row.open, row.close), min(row.open, row.close)
        if (top - row.high) / top > TOLERANCE or (row.low - bottom) / bottom > TOLERANCE:
            found.append(row.ts.isoformat())
    return found


@pytest.fixture
def sources(tmp_path: Path) -> PlatformSources:
    return PlatformSources(
        settings=Settings.local(tmp_path, dagster_pg_url=""),
        instance=DagsterInstance.ephemeral(),
        asset_keys=[],
        check_keys=[],
        config=OperationsConfig(),
    )


def refused_metric(sources: PlatformSources) -> float:
    return samples(sources.lake_metrics())[
        ("fin_assets_ohlc_refused_bars", (("source", "landing"),))
    ]


def test_refused_bars_are_in_the_quarantine_report_and_the_metric(
    sources: PlatformSources,
) -> None:
    universe = {s.symbol: s for s in load_universe()}
    lake = sources.lake
    assert refused_metric(sources) == 0
    files = {
        # 1 % and 2 % below the top, a low 1 % above the bottom: refused; a 0.1 % miss is
        # repairable, not refused.
        "landing/BTC/2025-10-12/a.csv": bars(
            date(2025, 10, 12), {3: (99.0, 99.6), 17: (98.2, 97.0), 42: (100.4, 101.0)}
        ),
        "landing/BTC/2025-10-13/b.csv": bars(
            date(2025, 10, 13), {5: (100.1, 99.6), 9: (100.4, 100.9)}
        ),
    }
    expected_total = 0
    for key, frame in files.items():
        lake.replace_object(key, csv_bytes(frame))
        expected = beyond_tolerance(frame)
        with pytest.raises(LandingFileRejected) as rejected:
            ingest_landing_file(lake, key, universe, date(2025, 1, 1), LandingLimits())
        assert rejected.value.refused_bars == expected
        (report_key,) = [
            k for k in lake.list_objects(f"quarantine/{key}") if k.endswith(".error.json")
        ]
        report = json.loads(lake.get_object(report_key))
        assert report["ohlc_refused_bars"] == len(expected)
        assert report["ohlc_refused_ts"] == expected
        expected_total += len(expected)
    assert expected_total == 3 + 1
    sources.listing.interval_seconds = 0.0  # the lake listing read again at this scrape
    assert refused_metric(sources) == expected_total


def test_a_file_refused_for_another_reason_refuses_no_bar(sources: PlatformSources) -> None:
    universe = {s.symbol: s for s in load_universe()}
    frame = bars(date(2025, 10, 12), {})
    frame.loc[7, "volume"] = np.nan
    key = "landing/BTC/2025-10-12/c.csv"
    sources.lake.replace_object(key, csv_bytes(frame))
    with pytest.raises(LandingFileRejected) as rejected:
        ingest_landing_file(sources.lake, key, universe, date(2025, 1, 1), LandingLimits())
    assert rejected.value.refused_bars == []
    assert refused_metric(sources) == 0
