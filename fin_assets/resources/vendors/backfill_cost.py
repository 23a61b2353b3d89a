"""What a backfill costs at a vendor: HTTP calls and the least time the quotas allow.

Calls follow the vendors source's request plan (VendorMarketSource.calls_for: one call per
symbol-month at Alpha Vantage, one per session elsewhere) over the sessions of each symbol's
calendar. The least time assumes token buckets that start full: a quota of `limit` calls per
`period` lets `limit` calls through at once and one more every `period / limit` seconds, so
`calls` take max(0, calls - limit) * period / limit seconds; the slowest quota decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fin_assets.analytics.market_calendar import sessions_in_range
from fin_assets.resources.vendors.rate_limit import Quota
from fin_assets.resources.vendors.routing import VendorMarketSource
from fin_assets.universe import Symbol


@dataclass(frozen=True)
class BackfillCost:
    """Calls of one vendor for a backfill, and the least time its quotas allow."""

    vendor: str
    symbols: int
    calls: int
    quotas: tuple[Quota, ...]

    @property
    def least_seconds(self) -> float:
        return max(
            max(0, self.calls - quota.limit) * quota.period_seconds / quota.limit
            for quota in self.quotas
        )


def backfill_costs(
    source: VendorMarketSource, symbols: tuple[Symbol, ...], start: date, end: date
) -> list[BackfillCost]:
    """Per vendor (in first-use order): calls and least time to fetch start..end, inclusive."""
    calls: dict[str, int] = {}
    counts: dict[str, int] = {}
    for symbol in symbols:
        vendor = source.vendor_for(symbol)
        sessions = sessions_in_range(symbol.calendar, start, end)
        calls[vendor] = calls.get(vendor, 0) + source.calls_for(symbol, sessions)
        counts[vendor] = counts.get(vendor, 0) + 1
    return [
        BackfillCost(vendor, counts[vendor], calls[vendor], source.quotas(vendor))
        for vendor in calls
    ]
