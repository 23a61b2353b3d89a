"""Daily vendor pulls: each schedule fetches one trade date of its symbols' raw quotes.

- `equity_vendor_pull` ticks at 20:30 America/New_York, after the US close (16:00) and after
  the New York date's UTC day has ended (00:30 or 01:30 UTC), so the date partition exists. It
  pulls that New York date.
- `crypto_vendor_pull` ticks at 00:15 UTC and pulls the UTC day that has just ended.

Both tick every day: a date without a session (weekends, exchange holidays) makes no vendor
call and materializes an explicit "no session" partition, which keeps every symbol's history
gap-free for the assets that look back over it (see fin_assets.defs.common.automation). A tick is
one run of `vendor_pull_job` (raw_quotes only) per contiguous block of its symbols in the universe
order, covering (that date × the block) as one partition range; declarative automation then
brings bars, analytics, risk and the warehouse up to date. Runs are tagged with the vendor
(`fin/vendor`), which the production instance's run queue limits per vendor.

"No data" is asked again: a tick also requests, one run per date and contiguous block, the
sessions of the NO_DATA_REFETCH_DAYS dates before its own whose newest payload of the pull's
vendor holds no bar (the vendor answered empty: late data, a vendor gap). raw_quotes fetches
those again (it never reuses an empty payload) and warns about each while it stays empty
(check `session_has_bars`).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from fin_assets.analytics.market_calendar import is_session
from fin_assets.defs.common.partition_ranges import range_tags
from fin_assets.defs.common.partitions import graph_partitions
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.market_data import stored_bar_count
from fin_assets.resources.storage import LakeResource
from fin_assets.universe import Symbol, load_universe

VENDOR_TAG = "fin/vendor"
# How many dates before its own a tick looks back for sessions stored as "no data".
NO_DATA_REFETCH_DAYS = 7

vendor_pull_job = define_asset_job(
    "vendor_pull_job",
    selection=AssetSelection.assets("raw_quotes"),
    description="Vendor payloads of a date × symbol range; automation takes it from there.",
)


@dataclass(frozen=True)
class VendorPull:
    """A daily pull: which symbols from which vendor, when (cron in `timezone`) and which date
    a tick fetches. Every symbol of the pull must have an id at the vendor (`check_vendor_ids`,
    when its schedule is built)."""

    name: str
    asset_classes: tuple[str, ...]
    vendor: str
    cron: str
    timezone: str
    days_back: int  # the tick's local date minus this many days is the trade date pulled

    def check_vendor_ids(self) -> None:
        """ValueError naming the symbols of the pull without an id at its vendor."""
        missing = [s for s in self.symbols if not self._universe[s].vendor_ids.get(self.vendor)]
        if missing:
            raise ValueError(f"{self.name}: {self.vendor} has no id for {missing}")

    @property
    def _universe(self) -> dict[str, Symbol]:
        return {s.symbol: s for s in load_universe()}

    @property
    def symbols(self) -> list[str]:
        return [s.symbol for s in load_universe() if s.asset_class in self.asset_classes]

    def trade_date(self, scheduled: datetime) -> date:
        """The trade date a tick scheduled at `scheduled` pulls."""
        return scheduled.astimezone(ZoneInfo(self.timezone)).date() - timedelta(self.days_back)

    def run_requests(self, scheduled: datetime) -> list[RunRequest]:
        """One run per contiguous symbol block, covering the tick's trade date."""
        return self._requests(self.trade_date(scheduled), self.symbols, self.name)

    def no_data_requests(self, scheduled: datetime, lake: ParquetLake) -> list[RunRequest]:
        """Runs fetching again the sessions of the NO_DATA_REFETCH_DAYS dates before the tick's
        whose newest payload of the pull's vendor holds no bar (one run per date and block)."""
        tick_date = self.trade_date(scheduled)
        history_start = graph_partitions().values.history_start
        requests = []
        for back in range(NO_DATA_REFETCH_DAYS, 0, -1):
            day = tick_date - timedelta(days=back)
            empty = [
                symbol
                for symbol in self.symbols
                if day >= history_start
                and is_session(self._universe[symbol].calendar, day)
                and stored_bar_count(lake, self.vendor, symbol, day.isoformat()) == 0
            ]
            if empty:
                requests += self._requests(day, empty, f"{self.name}:{tick_date}:no-data")
        return requests

    def _requests(self, day: date, symbols: list[str], prefix: str) -> list[RunRequest]:
        partitions = graph_partitions()
        requests = []
        for first, last in partitions.values.member_ranges(symbols):
            start = partitions.partition_key(day.isoformat(), first)
            end = partitions.partition_key(day.isoformat(), last)
            requests.append(
                RunRequest(
                    run_key=f"{prefix}:{start}:{end}",
                    tags={**range_tags(str(start), str(end)), VENDOR_TAG: self.vendor},
                )
            )
        return requests


EQUITY_PULL = VendorPull(
    name="equity_vendor_pull",
    asset_classes=("equity", "etf"),
    vendor="alphavantage",
    cron="30 20 * * *",
    timezone="America/New_York",
    days_back=0,
)
CRYPTO_PULL = VendorPull(
    name="crypto_vendor_pull",
    asset_classes=("crypto",),
    vendor="coingecko",
    cron="15 0 * * *",
    timezone="UTC",
    days_back=1,
)


def vendor_pull_schedule(pull: VendorPull) -> ScheduleDefinition:
    """The schedule of one daily pull (running by default: data arrives by itself)."""
    pull.check_vendor_ids()

    @schedule(
        name=pull.name,
        job=vendor_pull_job,
        cron_schedule=pull.cron,
        execution_timezone=pull.timezone,
        default_status=DefaultScheduleStatus.RUNNING,
        description=f"{pull.vendor} pull of {', '.join(pull.symbols)} ({pull.cron}, "
        f"{pull.timezone}).",
    )
    def pull_schedule(context: ScheduleEvaluationContext, lake: LakeResource) -> list[RunRequest]:
        scheduled = context.scheduled_execution_time
        return pull.run_requests(scheduled) + pull.no_data_requests(scheduled, lake.get_lake())

    return pull_schedule


def vendor_pull_schedules() -> list[ScheduleDefinition]:
    """The schedules of the daily pulls (they read the universe)."""
    return [vendor_pull_schedule(pull) for pull in (EQUITY_PULL, CRYPTO_PULL)]
