"""The daily vendor-pull schedules: when they tick and which partitions each tick requests."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dagster import RunRequest, build_schedule_context

from fin_assets.definitions import defs
from fin_assets.defs.common.partitions import graph_partitions
from fin_assets.defs.operations.schedules import VENDOR_TAG
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.storage import LakeResource

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def lake_root(tmp_path: Path) -> str:
    return str(tmp_path / "lake")


def tick(name: str, scheduled: datetime, lake_root: str) -> list[RunRequest]:
    schedule = defs().resolve_schedule_def(name)
    context = build_schedule_context(
        scheduled_execution_time=scheduled, resources={"lake": LakeResource(root=lake_root)}
    )
    return list(schedule(context))


def test_schedules_tick_after_the_close_in_their_time_zones() -> None:
    equity = defs().resolve_schedule_def("equity_vendor_pull")
    crypto = defs().resolve_schedule_def("crypto_vendor_pull")
    assert (equity.cron_schedule, equity.execution_timezone) == ("30 20 * * *", "America/New_York")
    assert (crypto.cron_schedule, crypto.execution_timezone) == ("15 0 * * *", "UTC")
    assert equity.job_name == crypto.job_name == "vendor_pull_job"


def test_equity_tick_pulls_the_new_york_date_as_one_range_run(lake_root: str) -> None:
    """20:30 in New York on 2025-07-03 (00:30 UTC on the 4th, summer time): the 3rd."""
    scheduled = datetime(2025, 7, 3, 20, 30, tzinfo=NEW_YORK)
    assert (
        graph_partitions().date_partitions.get_partition_keys(current_time=scheduled)[-1]
        == "2025-07-03"
    )
    (request,) = tick("equity_vendor_pull", scheduled, lake_root)
    assert request.tags["dagster/asset_partition_range_start"] == "2025-07-03|AAPL"
    assert request.tags["dagster/asset_partition_range_end"] == "2025-07-03|SPY"
    assert request.tags[VENDOR_TAG] == "alphavantage"
    assert request.run_key == "equity_vendor_pull:2025-07-03|AAPL:2025-07-03|SPY"


def test_equity_tick_in_winter_time_pulls_the_new_york_date(lake_root: str) -> None:
    """20:30 EST on 2025-12-31 is 01:30 UTC on 2026-01-01: the New York date is pulled."""
    scheduled = datetime(2026, 1, 1, 1, 30, tzinfo=UTC)
    (request,) = tick("equity_vendor_pull", scheduled, lake_root)
    assert request.tags["dagster/asset_partition_range_start"] == "2025-12-31|AAPL"


def test_crypto_tick_pulls_the_utc_day_that_just_ended(lake_root: str) -> None:
    scheduled = datetime(2025, 7, 5, 0, 15, tzinfo=UTC)
    assert (
        graph_partitions().date_partitions.get_partition_keys(current_time=scheduled)[-1]
        == "2025-07-04"
    )
    (request,) = tick("crypto_vendor_pull", scheduled, lake_root)
    assert request.tags["dagster/asset_partition_range_start"] == "2025-07-04|BTC"
    assert request.tags["dagster/asset_partition_range_end"] == "2025-07-04|SOL"
    assert request.tags[VENDOR_TAG] == "coingecko"


def test_a_tick_fetches_again_the_recent_sessions_stored_without_data(lake_root: str) -> None:
    lake = ParquetLake(lake_root)
    header = b"timestamp,open,high,low,close,volume\n"
    bar = b"2025-07-01 09:30:00,10.0,10.5,9.5,10.2,100\n"

    def stored(symbol: str, day: str, content: bytes) -> None:
        prefix = f"raw/alphavantage/symbol={symbol}/trade_date={day}"
        lake.put_object(f"{prefix}/20250701T203000000000Z-0123456789abcdef.csv", content)

    stored("AAPL", "2025-07-01", header)  # answered without a bar: "no data"
    stored("MSFT", "2025-07-01", header)
    stored("NVDA", "2025-07-01", header + bar)  # has data: not asked again
    stored("XOM", "2025-07-02", header)
    stored("JPM", "2025-06-25", header)  # more than 7 days before the tick: left alone
    scheduled = datetime(2025, 7, 3, 20, 30, tzinfo=NEW_YORK)

    requests = tick("equity_vendor_pull", scheduled, lake_root)

    ranges = [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in requests
    ]
    assert ranges == [
        ("2025-07-03|AAPL", "2025-07-03|SPY"),
        ("2025-07-01|AAPL", "2025-07-01|MSFT"),
        ("2025-07-02|XOM", "2025-07-02|XOM"),
    ]
    assert (
        requests[1].run_key
        == "equity_vendor_pull:2025-07-03:no-data:2025-07-01|AAPL:2025-07-01|MSFT"
    )
    assert {r.tags[VENDOR_TAG] for r in requests} == {"alphavantage"}
