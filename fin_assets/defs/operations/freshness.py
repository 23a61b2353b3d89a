"""Freshness SLAs: when the data people depend on is due, by the market calendar.

The one definition of every SLA; the `freshness` asset checks, `freshness_sensor`, the
operations exporter (`sla_seconds`) and docs/operations.md follow it.

- Equity day (EQUITY_DAY): the partition of a session D of an equity or ETF symbol (its exchange
  calendar: weekends and exchange holidays are never due) is due FRESHNESS_GRACE after the
  equity vendor pull's tick for D (20:30 America/New_York,
  fin_assets.defs.operations.schedules.EQUITY_PULL): 21:30 New York time.
- Crypto day (CRYPTO_DAY): the partition of every UTC day D of a crypto symbol is due
  FRESHNESS_GRACE after the crypto pull's tick for D (00:15 UTC on D + 1): 01:15 UTC on D + 1.
- Streaming (STREAM_SLA): the newest event the streaming path landed (the newest
  `stream_landing_status` read's `landed_through`) is at most STREAM_SLA old.

DAILY_SLA_ASSETS are date × member assets: each symbol's partition of its SLA's latest due
date must be materialized. DATE_SLA_ASSETS are date-partitioned over the whole universe: the
latest session of their calendar due under their SLA must be materialized.

State: each asset with an SLA has the asset check `freshness` (severity ERROR, never blocking),
whose evaluation lists the due dates and the overdue partitions. `freshness_sensor` evaluates
every check each minute (runless: no run is launched) and records an evaluation when an asset's
state changes; running the check from the UI evaluates it too, and a CLI backfill records the
daily SLAs' checks when its runs are over (`record_daily_freshness`). The UI shows it on the asset's
Checks tab and in its health; GraphQL queries it as any asset check
(`assetCheckExecutions(assetKey, checkName: "freshness")`). Jobs leave the checks out
(fin_assets.defs.common.selections.without_freshness_checks): a range run of old dates says
nothing about today's due data.
"""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DefaultSensorStatus,
    MetadataValue,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    multi_asset_check,
    sensor,
)

from fin_assets.analytics.market_calendar import is_session
from fin_assets.defs.common.partitions import graph_partitions
from fin_assets.defs.common.selections import FRESHNESS_CHECK
from fin_assets.defs.operations.schedules import CRYPTO_PULL, EQUITY_PULL, VendorPull
from fin_assets.shared.portfolio import PORTFOLIO_CALENDAR
from fin_assets.universe import load_universe

# Time after a pull's tick for automation to bring the pulled day through the graph.
FRESHNESS_GRACE = timedelta(hours=1)
STREAM_SLA = timedelta(minutes=5)
STREAM_ASSET = "stream_landing_status"
SENSOR_INTERVAL_SECONDS = 60
# Overdue partitions listed in a check's metadata (the count is always complete).
LISTED_OVERDUE = 20


@dataclass(frozen=True)
class DailySla:
    """A date of a pull's symbols is due `grace` after the pull's tick for that date, on the
    sessions of each symbol's calendar only."""

    name: str
    pull: VendorPull
    grace: timedelta

    def deadline(self, day: date) -> datetime:
        """When `day`'s partitions are due: the pull's tick for `day` plus the grace."""
        minute, hour, *every = self.pull.cron.split()
        if every != ["*", "*", "*"]:
            raise ValueError(f"{self.pull.name}: a daily cron is expected, got {self.pull.cron}")
        tick_day = day + timedelta(days=self.pull.days_back)
        tick = datetime.combine(
            tick_day, time(int(hour), int(minute)), ZoneInfo(self.pull.timezone)
        )
        return tick + self.grace

    def latest_due(self, calendar: str, now: datetime) -> date | None:
        """The newest session of `calendar` whose deadline has passed at `now` (None before
        the first one since the history start)."""
        day = now.astimezone(UTC).date()
        history_start = graph_partitions().values.history_start
        while day >= history_start:
            if self.deadline(day) <= now and is_session(calendar, day):
                return day
            day -= timedelta(days=1)
        return None


EQUITY_DAY = DailySla("equity_day", EQUITY_PULL, FRESHNESS_GRACE)
CRYPTO_DAY = DailySla("crypto_day", CRYPTO_PULL, FRESHNESS_GRACE)
DAILY_SLAS = (EQUITY_DAY, CRYPTO_DAY)
DAILY_SLA_ASSETS = ("daily_bars", "trading_signals", "risk_metrics", "fact_daily_bar")
# Date-partitioned assets: (the SLA of their last input, the calendar of their rows).
DATE_SLA_ASSETS: Mapping[str, tuple[DailySla, str]] = {
    "portfolio_risk": (EQUITY_DAY, PORTFOLIO_CALENDAR),
}
SLA_ASSETS = (*DAILY_SLA_ASSETS, *DATE_SLA_ASSETS, STREAM_ASSET)


def sla_of(symbol: str) -> DailySla:
    """The daily SLA of a universe symbol: that of the pull fetching it."""
    for sla in DAILY_SLAS:
        if symbol in sla.pull.symbols:
            return sla
    raise ValueError(f"no pull fetches {symbol}")


def due_partitions(asset: str, now: datetime) -> dict[str, tuple[str, date]]:
    """The partitions of a daily SLA asset due at `now`: partition key → (SLA name, date)."""
    if asset in DATE_SLA_ASSETS:
        sla, calendar = DATE_SLA_ASSETS[asset]
        day = sla.latest_due(calendar, now)
        return {} if day is None else {day.isoformat(): (sla.name, day)}
    partitions = graph_partitions()
    due: dict[str, tuple[str, date]] = {}
    for symbol in load_universe():
        sla = sla_of(symbol.symbol)
        day = sla.latest_due(symbol.calendar, now)
        if day is not None:
            value = partitions.values.partition_of[symbol.symbol]
            due[str(partitions.partition_key(day, value))] = (sla.name, day)
    return due


@dataclass(frozen=True)
class Freshness:
    """An asset's freshness at a time: overdue partitions (or the stale stream) and why."""

    asset: str
    overdue: tuple[str, ...]
    detail: str
    due: Mapping[str, str]  # SLA name → the date (or time) due

    @property
    def passed(self) -> bool:
        return not self.overdue

    @property
    def state(self) -> str:
        """What the sensor compares between ticks: the overdue partitions."""
        return ",".join(self.overdue)

    def metadata(self) -> dict[str, MetadataValue]:
        return {
            "overdue_count": MetadataValue.int(len(self.overdue)),
            "overdue": MetadataValue.json(list(self.overdue[:LISTED_OVERDUE])),
            "due": MetadataValue.json(dict(self.due)),
            "detail": MetadataValue.text(self.detail),
        }

    def result(self) -> AssetCheckResult:
        """The check's result inside a run."""
        return AssetCheckResult(
            asset_key=self.asset,
            check_name=FRESHNESS_CHECK,
            passed=self.passed,
            severity=AssetCheckSeverity.ERROR,
            metadata=self.metadata(),
        )

    def evaluation(self) -> AssetCheckEvaluation:
        """The check's evaluation reported without a run (by the sensor)."""
        return AssetCheckEvaluation(
            asset_key=AssetKey(self.asset),
            check_name=FRESHNESS_CHECK,
            passed=self.passed,
            severity=AssetCheckSeverity.ERROR,
            metadata=self.metadata(),
            blocking=False,
        )


def daily_freshness(instance: DagsterInstance, asset: str, now: datetime) -> Freshness:
    """Whether every partition of `asset` due at `now` has been materialized."""
    due = due_partitions(asset, now)
    materialized = instance.get_latest_storage_id_by_partition(
        AssetKey(asset), DagsterEventType.ASSET_MATERIALIZATION, partitions=set(due)
    )
    overdue = tuple(sorted(key for key in due if key not in materialized))
    dates = {name: day.isoformat() for name, day in sorted(set(due.values()))}
    detail = (
        f"{len(overdue)} of {len(due)} due partitions not materialized"
        + (f": {', '.join(overdue[:LISTED_OVERDUE])}" if overdue else "")
        + f" (due dates {dates}, at {now.isoformat(timespec='seconds')})"
    )
    return Freshness(asset, overdue, detail, dates)


def stream_freshness(instance: DagsterInstance, now: datetime) -> Freshness:
    """Whether the newest event the stream landed is at most STREAM_SLA old at `now`."""
    event = instance.get_latest_materialization_event(AssetKey(STREAM_ASSET))
    landed = (
        event.asset_materialization.metadata.get("landed_through")
        if event is not None and event.asset_materialization is not None
        else None
    )
    times = [datetime.fromisoformat(t) for t in (landed.value if landed else {}).values()]
    due = {"streaming": (now - STREAM_SLA).isoformat(timespec="seconds")}
    if not times:
        return Freshness(STREAM_ASSET, ("stream",), "no landed event time read yet", due)
    newest = max(times)
    age = (now - newest).total_seconds()
    detail = f"newest landed event {newest.isoformat()}, {age:.0f} s before {now.isoformat()}"
    overdue = ("stream",) if now - newest > STREAM_SLA else ()
    return Freshness(STREAM_ASSET, overdue, detail, due)


def evaluate(instance: DagsterInstance, asset: str, now: datetime) -> Freshness:
    """The freshness of an SLA asset at `now`."""
    if asset == STREAM_ASSET:
        return stream_freshness(instance, now)
    return daily_freshness(instance, asset, now)


def sla_seconds(asset: str, now: datetime) -> float | None:
    """The lag (seconds since its last materialization) `asset` may have at `now` under its
    SLA, None without one: for a daily SLA, the time since the earliest pull tick of the
    asset's due dates (a materialization before it cannot hold that date); for the stream,
    STREAM_SLA."""
    if asset == STREAM_ASSET:
        return STREAM_SLA.total_seconds()
    if asset not in SLA_ASSETS:
        return None
    due = due_partitions(asset, now)
    slas = {sla.name: sla for sla in DAILY_SLAS}
    ticks = [slas[name].deadline(day) - slas[name].grace for name, day in set(due.values())]
    return (now - min(ticks)).total_seconds() if ticks else None


def _description(asset: str) -> str:
    if asset == STREAM_ASSET:
        return f"The newest landed stream event is at most {STREAM_SLA} old."
    if asset in DATE_SLA_ASSETS:
        sla, calendar = DATE_SLA_ASSETS[asset]
        return f"Each {calendar} session is materialized by its {sla.name} deadline."
    return (
        "Each symbol's partition is materialized by its deadline: a session of an equity or "
        "ETF at 21:30 America/New_York, every UTC day of a crypto at 01:15 UTC the next day."
    )


@multi_asset_check(
    name="freshness_checks",
    specs=[
        AssetCheckSpec(FRESHNESS_CHECK, asset=asset, description=_description(asset))
        for asset in SLA_ASSETS
    ],
    can_subset=True,
)
def freshness_checks(context: AssetCheckExecutionContext) -> Iterator[AssetCheckResult]:
    """The `freshness` check of each selected SLA asset, now."""
    now = datetime.now(UTC)
    for key in context.selected_asset_check_keys:
        yield evaluate(context.instance, key.asset_key.to_user_string(), now).result()


def changed_evaluations(
    instance: DagsterInstance, cursor: str | None, now: datetime
) -> tuple[list[AssetCheckEvaluation], str]:
    """The evaluations of the SLA assets whose state changed since `cursor` (JSON: asset →
    state; an asset not in it was never evaluated), and the new cursor."""
    previous: dict[str, str] = json.loads(cursor) if cursor else {}
    states = {asset: evaluate(instance, asset, now) for asset in SLA_ASSETS}
    changed = [f.evaluation() for a, f in states.items() if previous.get(a) != f.state]
    return changed, json.dumps({asset: f.state for asset, f in states.items()})


@sensor(
    name="freshness_sensor",
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="Evaluates the freshness SLAs (fin_assets.defs.operations.freshness) each minute "
    "and records the `freshness` check of each asset whose state changed.",
)
def freshness_sensor(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    evaluations, cursor = changed_evaluations(context.instance, context.cursor, datetime.now(UTC))
    if not evaluations:
        return SkipReason("no freshness state changed")
    return SensorResult(asset_events=evaluations, cursor=cursor)


def record_daily_freshness(instance: DagsterInstance) -> None:
    """Record the `freshness` check of every daily SLA asset as it is now (runless), as the CLI
    does once its runs are over: the UI states the SLAs without a running daemon too."""
    now = datetime.now(UTC)
    for asset in (*DAILY_SLA_ASSETS, *DATE_SLA_ASSETS):
        instance.report_runless_asset_event(evaluate(instance, asset, now).evaluation())
