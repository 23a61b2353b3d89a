"""Prometheus metrics of the platform, computed from plain observations (no Dagster here).

Every metric is named `fin_assets_*` and its labels are bounded: dagster_job (not `job`, which
Prometheus gives every scraped series: the scrape job), step, asset, check,
severity, table, dataset, vendor, quota, state, component; never a run id, a partition or a
file key. Values are read at scrape time (sources.py gathers the observations); each source is
collected on its own, so a source that fails (the warehouse file locked by a writer, the
instance unreachable) reports `fin_assets_source_up{source} 0` while the others still report.
docs/operations.md lists every metric with its meaning.

Conventions:
- Times are Unix seconds (UTC); durations are seconds.
- `fin_assets_runs` counts the runs the instance holds, per job and status: a gauge (a run
  moves from STARTED to SUCCESS; deleted runs leave). Alerts use the `last_run` gauges.
- Costs are estimates from a price table (PriceTable, configurable), in US dollars.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from fin_assets.analytics.ohlc_policy import OHLC_TOLERANCE

logger = logging.getLogger(__name__)

PREFIX = "fin_assets"
# Upper bounds (seconds) of the run and step duration histograms.
DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)
FINISHED_STATUSES = ("SUCCESS", "FAILURE", "CANCELED")
LANDING_STATES = ("ingested", "quarantined", "waiting")


@dataclass(frozen=True)
class RunObservation:
    """One run of the instance: its job, status (DagsterRunStatus name) and times."""

    job: str
    status: str
    start: float | None
    end: float | None

    @property
    def seconds(self) -> float | None:
        """Wall time of a finished run; None while it runs or if it never started."""
        if self.start is None or self.end is None:
            return None
        return self.end - self.start


@dataclass(frozen=True)
class DurationTotals:
    """Wall times summed for a histogram: how many, their sum, and how many are at most each
    bound of DURATION_BUCKETS (cumulative, in the bounds' order)."""

    count: int
    total: float
    at_most: tuple[int, ...]

    @classmethod
    def of(cls, seconds: Sequence[float]) -> DurationTotals:
        return cls(
            len(seconds),
            math.fsum(seconds),
            tuple(sum(s <= bound for s in seconds) for bound in DURATION_BUCKETS),
        )

    def __add__(self, other: DurationTotals) -> DurationTotals:
        return DurationTotals(
            self.count + other.count,
            self.total + other.total,
            tuple(a + b for a, b in zip(self.at_most, other.at_most, strict=True)),
        )


@dataclass(frozen=True)
class RunGroup:
    """The runs of one job in one status: how many, the wall times of those with a start and an
    end, and the earliest start (None: none started)."""

    job: str
    status: str
    runs: int
    durations: DurationTotals
    earliest_start: float | None


@dataclass(frozen=True)
class RunSummary:
    """The instance's runs, summed per (job, status), and each job's newest finished run (by
    end time) with its run id."""

    groups: Sequence[RunGroup]
    last_finished: Mapping[str, tuple[str, RunObservation]]


@dataclass(frozen=True)
class StepObservation:
    """One step of the newest finished run of a job: status (StepEventStatus name), seconds."""

    job: str
    step: str
    status: str
    seconds: float | None


@dataclass(frozen=True)
class CheckObservation:
    """The latest completed evaluation of one asset check."""

    asset: str
    check: str
    severity: str  # "ERROR" or "WARN"
    passed: bool
    failed_rows: int | None
    timestamp: float


@dataclass(frozen=True)
class CheckTotal:
    """One asset check's evaluations summed over every run that evaluated it: rows checked and
    rows failing (the `checked_rows` / `failed_rows` metadata of each run's evaluation)."""

    asset: str
    check: str
    severity: str
    evaluations: int
    checked_rows: int
    failed_rows: int


@dataclass(frozen=True)
class AssetObservation:
    """When an asset was last materialized (None: never) and the lag its SLA allows."""

    asset: str
    last_materialization: float | None
    sla_seconds: float


@dataclass(frozen=True)
class StreamObservation:
    """The newest stream status (the stream_landing_status asset's materialization): the
    landing writer group's lag and committed messages when checked, the event time each
    symbol's minutes are landed through, the commit throughput (None: first check), and the
    messages written to the dead-letter topic (None: a status read before they were recorded)."""

    group: str
    checked_at: float
    lag: int
    committed: int
    landed_through: Mapping[str, float]
    throughput: float | None
    dead_letters: int | None = None


@dataclass(frozen=True)
class DatasetStats:
    """Files and bytes under one top-level folder of the lake (a dataset or a zone)."""

    dataset: str
    files: int
    bytes: int


@dataclass(frozen=True)
class QuotaState:
    """One quota of a vendor limiter: its size and the calls it still admits now."""

    vendor: str
    quota: str  # "5/60s"
    limit: int
    remaining: int


@dataclass(frozen=True)
class PriceTable:
    """US-dollar prices of the estimated cost (defaults: AWS us-east-1 list prices, 2026).

    s3_put_per_1000: PUT requests, per 1,000 (each lake object was written by one PUT);
    s3_gb_month: S3 Standard storage per GB-month; spark_core_second: an EMR vCPU-second (EC2
    m5.xlarge $0.192/h + EMR $0.048/h over 4 vCPUs); spark_cores: vCPUs a Spark job holds;
    run_second: a second of a run's own compute (a 1-vCPU, 2-GiB pod on Fargate).
    """

    s3_put_per_1000: float = 0.005
    s3_gb_month: float = 0.023
    spark_core_second: float = 0.240 / 4 / 3600
    spark_cores: int = 8
    run_second: float = (0.04048 + 2 * 0.004445) / 3600


@dataclass(frozen=True)
class Usage:
    """What the cost estimate is computed from: objects and bytes in the lake, and the wall
    seconds of finished runs, those of Spark jobs apart."""

    lake_files: int
    lake_bytes: int
    spark_seconds: float
    run_seconds: float


def estimated_costs(usage: Usage, prices: PriceTable) -> dict[str, float]:
    """Dollars per component: S3 PUT requests (one per object), S3 storage for one month,
    Spark core-seconds of Spark job runs, run compute of the other runs."""
    return {
        "s3_requests": usage.lake_files / 1000 * prices.s3_put_per_1000,
        "s3_storage_month": usage.lake_bytes / 1e9 * prices.s3_gb_month,
        "spark": usage.spark_seconds * prices.spark_cores * prices.spark_core_second,
        "runs": usage.run_seconds * prices.run_second,
    }


def _name(suffix: str) -> str:
    return f"{PREFIX}_{suffix}"


def _histogram(
    name: str, documentation: str, labels: Sequence[str], groups: Mapping[tuple, DurationTotals]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(_name(name), documentation, labels=list(labels))
    for values, totals in sorted(groups.items()):
        buckets = [
            (str(bound), float(count))
            for bound, count in zip(DURATION_BUCKETS, totals.at_most, strict=True)
        ]
        buckets.append(("+Inf", float(totals.count)))
        family.add_metric(list(values), buckets, sum_value=totals.total)
    return family


def run_metrics(summary: RunSummary, now: float) -> list[Metric]:
    """Runs per job and status, finished-run durations, each job's newest finished run and
    its oldest running one."""
    durations: dict[tuple[str], DurationTotals] = {}
    running_since: dict[str, float] = {}
    for group in summary.groups:
        if group.status in FINISHED_STATUSES and group.durations.count:
            key = (group.job,)
            durations[key] = durations.get(key, DurationTotals.of(())) + group.durations
        elif group.status == "STARTED" and group.earliest_start is not None:
            running_since[group.job] = group.earliest_start
    by_status = GaugeMetricFamily(
        _name("runs"),
        "Runs the instance holds, by job and status.",
        labels=["dagster_job", "status"],
    )
    for group in sorted(summary.groups, key=lambda g: (g.job, g.status)):
        by_status.add_metric([group.job, group.status], group.runs)
    failed = GaugeMetricFamily(
        _name("job_last_run_failed"),
        "1 when the job's newest finished run failed (or was canceled), else 0.",
        labels=["dagster_job"],
    )
    finished_at = GaugeMetricFamily(
        _name("job_last_run_end_timestamp_seconds"),
        "When the job's newest finished run ended.",
        labels=["dagster_job"],
    )
    last_seconds = GaugeMetricFamily(
        _name("job_last_run_duration_seconds"),
        "Wall time of the job's newest finished run.",
        labels=["dagster_job"],
    )
    for job, (_, run) in sorted(summary.last_finished.items()):
        failed.add_metric([job], 0 if run.status == "SUCCESS" else 1)
        finished_at.add_metric([job], run.end or 0.0)
        if run.seconds is not None:
            last_seconds.add_metric([job], run.seconds)
    oldest_running = GaugeMetricFamily(
        _name("job_oldest_running_run_age_seconds"),
        "Seconds since the job's longest-running in-progress run started.",
        labels=["dagster_job"],
    )
    for job, start in sorted(running_since.items()):
        oldest_running.add_metric([job], now - start)
    histogram = _histogram(
        "run_duration_seconds", "Wall time of finished runs, by job.", ["dagster_job"], durations
    )
    return [by_status, failed, finished_at, last_seconds, oldest_running, histogram]


def step_metrics(steps: Iterable[StepObservation]) -> list[Metric]:
    """Step wall times of each job's newest finished run."""
    seconds = GaugeMetricFamily(
        _name("step_duration_seconds"),
        "Wall time of each step of the job's newest finished run.",
        labels=["dagster_job", "step", "status"],
    )
    for step in sorted(steps, key=lambda s: (s.job, s.step)):
        if step.seconds is not None:
            seconds.add_metric([step.job, step.step, step.status], step.seconds)
    return [seconds]


def check_metrics(checks: Iterable[CheckObservation]) -> list[Metric]:
    """The latest result of every evaluated asset check."""
    labels = ["asset", "check", "severity"]
    passed = GaugeMetricFamily(
        _name("check_passed"), "1 when the check's latest evaluation passed, else 0.", labels=labels
    )
    failed_rows = GaugeMetricFamily(
        _name("check_failed_rows"),
        "Rows failing the check at its latest evaluation.",
        labels=labels,
    )
    evaluated_at = GaugeMetricFamily(
        _name("check_evaluation_timestamp_seconds"), "When the check last evaluated.", labels=labels
    )
    for check in sorted(checks, key=lambda c: (c.asset, c.check)):
        values = [check.asset, check.check, check.severity]
        passed.add_metric(values, 1 if check.passed else 0)
        evaluated_at.add_metric(values, check.timestamp)
        if check.failed_rows is not None:
            failed_rows.add_metric(values, check.failed_rows)
    return [passed, failed_rows, evaluated_at]


def check_total_metrics(totals: Iterable[CheckTotal]) -> list[Metric]:
    """Rows checked and failing per check, summed over every evaluating run: the quality rates
    (`rate(failed) / rate(checked)`: OHLC-repaired bars per bar, missing or unexpected minutes
    per session minute, ...)."""
    labels = ["asset", "check", "severity"]
    evaluations = CounterMetricFamily(
        _name("check_evaluations"), "Runs that evaluated the check.", labels=labels
    )
    checked = CounterMetricFamily(
        _name("check_rows_checked"), "Rows the check's evaluations checked.", labels=labels
    )
    failed = CounterMetricFamily(
        _name("check_rows_failed"),
        "Rows failing the check's evaluations (repaired bars for ohlc_repaired).",
        labels=labels,
    )
    for total in sorted(totals, key=lambda t: (t.asset, t.check)):
        values = [total.asset, total.check, total.severity]
        evaluations.add_metric(values, total.evaluations)
        checked.add_metric(values, total.checked_rows)
        failed.add_metric(values, total.failed_rows)
    return [evaluations, checked, failed]


def asset_metrics(assets: Iterable[AssetObservation], now: float) -> list[Metric]:
    """Each asset's last materialization, its lag behind now and the lag its SLA allows."""
    last = GaugeMetricFamily(
        _name("asset_last_materialization_timestamp_seconds"),
        "When the asset was last materialized (any partition).",
        labels=["asset"],
    )
    lag = GaugeMetricFamily(
        _name("asset_lag_seconds"),
        "Seconds since the asset was last materialized (absent: never materialized).",
        labels=["asset"],
    )
    sla = GaugeMetricFamily(
        _name("asset_sla_seconds"), "The lag the asset's SLA allows.", labels=["asset"]
    )
    for asset in sorted(assets, key=lambda a: a.asset):
        sla.add_metric([asset.asset], asset.sla_seconds)
        if asset.last_materialization is not None:
            last.add_metric([asset.asset], asset.last_materialization)
            lag.add_metric([asset.asset], max(0.0, now - asset.last_materialization))
    return [last, lag, sla]


def stream_metrics(stream: StreamObservation | None, now: float) -> list[Metric]:
    """The streaming path's lag, commits, throughput and per-symbol landed-event-time age."""
    group = ["group"]
    lag = GaugeMetricFamily(
        _name("stream_consumer_lag"), "Messages the landing writer has not committed.", labels=group
    )
    committed = GaugeMetricFamily(
        _name("stream_committed_messages"), "Messages the writer has committed.", labels=group
    )
    checked = GaugeMetricFamily(
        _name("stream_status_timestamp_seconds"),
        "When the stream status was last read from the broker.",
        labels=group,
    )
    throughput = GaugeMetricFamily(
        _name("stream_throughput_messages_per_second"),
        "Committed messages per second between the last two status reads.",
        labels=group,
    )
    dead_letters = GaugeMetricFamily(
        _name("stream_dead_letters"),
        "Messages the writers sent to the dead-letter topic since it began (grows only).",
        labels=group,
    )
    age = GaugeMetricFamily(
        _name("stream_landed_age_seconds"),
        "Seconds between now and the event time a symbol's minutes are landed through.",
        labels=["symbol"],
    )
    if stream is not None:
        lag.add_metric([stream.group], stream.lag)
        committed.add_metric([stream.group], stream.committed)
        checked.add_metric([stream.group], stream.checked_at)
        if stream.throughput is not None:
            throughput.add_metric([stream.group], stream.throughput)
        if stream.dead_letters is not None:
            dead_letters.add_metric([stream.group], stream.dead_letters)
        for symbol, landed in sorted(stream.landed_through.items()):
            age.add_metric([symbol], now - landed)
    return [lag, committed, checked, throughput, dead_letters, age]


def warehouse_metrics(row_counts: Mapping[str, int]) -> list[Metric]:
    """Rows per warehouse table."""
    rows = GaugeMetricFamily(
        _name("warehouse_rows"), "Rows in each warehouse table.", labels=["table"]
    )
    for table, count in sorted(row_counts.items()):
        rows.add_metric([table], count)
    return [rows]


def lake_metrics(datasets: Iterable[DatasetStats], payloads: Mapping[str, int]) -> list[Metric]:
    """Files and bytes per lake dataset (top-level folder); raw payloads per vendor."""
    files = GaugeMetricFamily(
        _name("lake_files"), "Files under each top-level lake folder.", labels=["dataset"]
    )
    size = GaugeMetricFamily(
        _name("lake_bytes"), "Bytes under each top-level lake folder.", labels=["dataset"]
    )
    for stats in sorted(datasets, key=lambda s: s.dataset):
        files.add_metric([stats.dataset], stats.files)
        size.add_metric([stats.dataset], stats.bytes)
    stored = GaugeMetricFamily(
        _name("vendor_payloads"),
        "Vendor payloads in the raw layer, per vendor (one per fetch that returned new bytes).",
        labels=["vendor"],
    )
    for vendor, count in sorted(payloads.items()):
        stored.add_metric([vendor], count)
    return [files, size, stored]


def landing_metrics(states: Mapping[str, int], latencies: Sequence[float]) -> list[Metric]:
    """Landing files by state: ingested, quarantined, waiting (every state, 0 included); the
    seconds from landing to the end of the run carrying each ingested file to the warehouse."""
    files = GaugeMetricFamily(_name("landing_files"), "Landing files by state.", labels=["state"])
    for state in LANDING_STATES:
        files.add_metric([state], states.get(state, 0))
    latency = _histogram(
        "landing_to_warehouse_seconds",
        "Seconds from a landing file's arrival to the end of the run loading it.",
        [],
        {(): DurationTotals.of(latencies)} if latencies else {},
    )
    return [files, latency]


def ohlc_refused_metrics(refused: Mapping[str, int]) -> list[Metric]:
    """Bars refused by the OHLC policy's tolerance, per source (`landing`: in the quarantined
    landing files the lake holds, from their error reports; `runs`: refused in the instance's
    failed runs — by a vendor client, or by intraday_bars (a stored payload beyond the
    tolerance, any source under the `reject` policy) — from their step failures)."""
    family = GaugeMetricFamily(
        _name("ohlc_refused_bars"),
        f"Bars refused by the OHLC tolerance (high/low missing open/close by more than "
        f"{OHLC_TOLERANCE:.1%}), per source; landing: in the quarantined files the lake holds; "
        "runs: in the failed runs' payloads.",
        labels=["source"],
    )
    for source, count in sorted(refused.items()):
        family.add_metric([source], count)
    return [family]


def vendor_metrics(
    quotas: Iterable[QuotaState], events: Mapping[tuple[str, str], int]
) -> list[Metric]:
    """Quota size and remaining calls per vendor limiter quota; calls, throttles and retries
    per vendor (`events`: (vendor, event) → count since the store began)."""
    labels = ["vendor", "quota"]
    limit = GaugeMetricFamily(
        _name("vendor_quota_limit"), "Calls a vendor quota admits per period.", labels=labels
    )
    remaining = GaugeMetricFamily(
        _name("vendor_quota_remaining"),
        "Calls the vendor quota still admits now (shared limiter state).",
        labels=labels,
    )
    for quota in sorted(quotas, key=lambda q: (q.vendor, q.quota)):
        limit.add_metric([quota.vendor, quota.quota], quota.limit)
        remaining.add_metric([quota.vendor, quota.quota], quota.remaining)
    counted = CounterMetricFamily(
        _name("vendor_events"),
        "Vendor calls (tokens taken), throttles (limiter waits or refusals) and HTTP retries.",
        labels=["vendor", "event"],
    )
    for (vendor, event), count in sorted(events.items()):
        counted.add_metric([vendor, event], count)
    return [limit, remaining, counted]


def cost_metrics(usage: Usage, prices: PriceTable, budget_usd: float) -> list[Metric]:
    """Estimated cost per component, the total, and the budget the cost alert compares it to."""
    costs = estimated_costs(usage, prices)
    family = GaugeMetricFamily(
        _name("estimated_cost_usd"),
        "Estimated cost in US dollars per component (price table in docs/operations.md).",
        labels=["component"],
    )
    for component, dollars in costs.items():
        family.add_metric([component], dollars)
    total = GaugeMetricFamily(_name("estimated_cost_usd_total"), "Sum of the components.")
    total.add_metric([], math.fsum(costs.values()))
    budget = GaugeMetricFamily(_name("cost_budget_usd"), "The cost alert's budget (config).")
    budget.add_metric([], budget_usd)
    return [family, total, budget]


class FinAssetsCollector(Collector):
    """Collects every source at scrape time; one failing source does not hide the others.

    `sources` maps a source name (instance, warehouse, lake, landing, vendors, cost) to a
    function returning its metric families.
    """

    def __init__(self, sources: Mapping[str, Callable[[], list[Metric]]]) -> None:
        self.sources = sources

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            _name("source_up"), "1 when the source was read at this scrape.", labels=["source"]
        )
        seconds = GaugeMetricFamily(
            _name("source_scrape_seconds"), "Seconds reading the source took.", labels=["source"]
        )
        for name, read in self.sources.items():
            started = time.perf_counter()
            try:
                families = read()
            except Exception:
                logger.exception("metrics source %s failed", name)
                up.add_metric([name], 0)
            else:
                up.add_metric([name], 1)
                yield from families
            seconds.add_metric([name], time.perf_counter() - started)
        yield up
        yield seconds
