"""The daily vendor-pull schedules: when they tick and which partitions each tick requests."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dagster import RunRequest, build_schedule_context

from fin_assets.definitions import defs
from fin_assets.defs.partitions import date_partitions
from fin_assets.defs.schedules import VENDOR_TAG

NEW_YORK = ZoneInfo("America/New_York")


def tick(name: str, scheduled: datetime) -> list[RunRequest]:
    schedule = defs.resolve_schedule_def(name)
    return list(schedule(build_schedule_context(scheduled_execution_time=scheduled)))


def test_schedules_tick_after_the_close_in_their_time_zones() -> None:
    equity = defs.resolve_schedule_def("equity_vendor_pull")
    crypto = defs.resolve_schedule_def("crypto_vendor_pull")
    assert (equity.cron_schedule, equity.execution_timezone) == ("30 20 * * *", "America/New_York")
    assert (crypto.cron_schedule, crypto.execution_timezone) == ("15 0 * * *", "UTC")
    assert equity.job_name == crypto.job_name == "vendor_pull_job"


def test_equity_tick_pulls_the_new_york_date_as_one_range_run() -> None:
    """20:30 in New York on 2025-07-03 (00:30 UTC on the 4th, summer time): the 3rd."""
    scheduled = datetime(2025, 7, 3, 20, 30, tzinfo=NEW_YORK)
    assert date_partitions.get_partition_keys(current_time=scheduled)[-1] == "2025-07-03"
    (request,) = tick("equity_vendor_pull", scheduled)
    assert request.tags["dagster/asset_partition_range_start"] == "2025-07-03|AAPL"
    assert request.tags["dagster/asset_partition_range_end"] == "2025-07-03|SPY"
    assert request.tags[VENDOR_TAG] == "alphavantage"
    assert request.run_key == "equity_vendor_pull:2025-07-03|AAPL:2025-07-03|SPY"


def test_equity_tick_in_winter_time_pulls_the_new_york_date() -> None:
    """20:30 EST on 2025-12-31 is 01:30 UTC on 2026-01-01: the New York date is pulled."""
    scheduled = datetime(2026, 1, 1, 1, 30, tzinfo=UTC)
    (request,) = tick("equity_vendor_pull", scheduled)
    assert request.tags["dagster/asset_partition_range_start"] == "2025-12-31|AAPL"


def test_crypto_tick_pulls_the_utc_day_that_just_ended() -> None:
    scheduled = datetime(2025, 7, 5, 0, 15, tzinfo=UTC)
    assert date_partitions.get_partition_keys(current_time=scheduled)[-1] == "2025-07-04"
    (request,) = tick("crypto_vendor_pull", scheduled)
    assert request.tags["dagster/asset_partition_range_start"] == "2025-07-04|BTC"
    assert request.tags["dagster/asset_partition_range_end"] == "2025-07-04|SOL"
    assert request.tags[VENDOR_TAG] == "coingecko"
