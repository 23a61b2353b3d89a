"""Carrying a changed day through its look-back dependents without the daemon.

Indicators, anomalies and risk of a date are computed over the symbol's whole daily history
(their declared dependency: the 400 days before), signals over the indicators of the previous
session, the portfolio and correlations over every symbol's closes. A changed daily bar on day
D therefore changes, besides D's own partitions, the symbol's look-back assets of every later
date and the portfolio of D and every later date. With the daemon, declarative automation
requests them (defs/common/automation.py). `fin-assets ingest-landing` runs without it, so after a
landing run of dates start..end of a symbol, it runs `dependent_runs` itself:

- symbol_history_job, assets LOOKBACK_DEPENDENTS, over end+1 .. the newest date holding one of
  them in the lake, for the symbol's partition value (its block in a blocked universe);
- portfolio_job (all its assets) over start .. the newest portfolio_risk partition, when there is
  one on or after start.

Dates never materialized are left alone: nothing there is stale, it is missing.

`refresh_runs` makes the same runs for the warehouse's stale rows (`fin-assets refresh-stale`):
the look-back dependents of each symbol over its stale dates, the portfolio over its.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from dagster import AssetKey

from fin_assets.defs.common.partition_ranges import range_tags, rectangle_tags
from fin_assets.resources.lake import ParquetLake
from fin_assets.shared.partitions import partition_values

LOOKBACK_DEPENDENTS = (
    "technical_indicators",
    "trading_signals",
    "anomalies",
    "risk_metrics",
    "fact_indicator",
    "fact_signal",
    "fact_risk",
)
# Lake datasets whose newest date bounds the symbol's later dates to recompute.
_SYMBOL_DATASETS = ("technical_indicators", "trading_signals", "anomalies", "risk_metrics")


@dataclass(frozen=True)
class DependentRun:
    """One run recomputing look-back dependents: job, assets (None: all the job's) and
    partition range tags."""

    job_name: str
    assets: tuple[str, ...] | None
    start: date
    end: date
    tags: dict[str, str]

    @property
    def asset_keys(self) -> list[AssetKey] | None:
        """The run's asset selection (None: the whole job)."""
        return None if self.assets is None else [AssetKey(asset) for asset in self.assets]

    @property
    def label(self) -> str:
        assets = "all assets" if self.assets is None else ", ".join(self.assets)
        return f"{self.job_name} {assets} {self.start}..{self.end}"


def dependent_runs(lake: ParquetLake, symbol: str, start: date, end: date) -> list[DependentRun]:
    """The runs bringing the look-back dependents of `symbol`'s changed dates start..end up to
    date (module docstring), symbol history first, then the portfolio."""
    runs = []
    later = [
        d for dataset in _SYMBOL_DATASETS for d in lake.existing_dates(dataset, symbol) if d > end
    ]
    if later:
        first, last = end + timedelta(days=1), max(later)
        runs.append(history_run(partition_values().partition_of[symbol], first, last))
    portfolio = [d for d in lake.existing_dates("portfolio_risk") if d >= start]
    if portfolio:
        last = max(portfolio)
        runs.append(portfolio_run(start, last))
    return runs


def refresh_runs(ranges: Iterable[tuple[str | None, date, date]]) -> list[DependentRun]:
    """The runs recomputing stale rows given as (symbol, first date, last date), symbol None for
    the portfolio facts: one symbol history run per partition value (a symbol, or its block)
    over the union of its ranges, then one portfolio run; in a stable order."""
    spans: dict[str | None, tuple[date, date]] = {}
    for symbol, first, last in ranges:
        value = None if symbol is None else partition_values().partition_of[symbol]
        known = spans.get(value, (first, last))
        spans[value] = (min(known[0], first), max(known[1], last))
    runs = [
        history_run(value, first, last)
        for value, (first, last) in sorted(
            (item for item in spans.items() if item[0] is not None), key=lambda item: item[0]
        )
    ]
    if None in spans:
        runs.append(portfolio_run(*spans[None]))
    return runs


def history_run(value: str, first: date, last: date) -> DependentRun:
    """The symbol history job's run of one partition value (a symbol or its block) over the
    dates first..last."""
    return DependentRun(
        "symbol_history_job",
        LOOKBACK_DEPENDENTS,
        first,
        last,
        rectangle_tags(first, last, value, value),
    )


def portfolio_run(first: date, last: date) -> DependentRun:
    """The portfolio job's run over the dates first..last."""
    return DependentRun(
        "portfolio_job",
        None,
        first,
        last,
        range_tags(first.isoformat(), last.isoformat()),
    )
