"""Backfill costs of the default universe at the free tiers (the numbers in docs/vendors.md)."""

from datetime import date

from fin_assets.resources.vendors.backfill_cost import backfill_costs
from fin_assets.resources.vendors.routing import VendorMarketSource
from fin_assets.universe import load_universe


def test_two_years_with_the_default_routing() -> None:
    av, cg = backfill_costs(
        VendorMarketSource(), load_universe(), date(2024, 1, 1), date(2025, 12, 31)
    )
    # 7 equities and ETFs x 24 months, one TIME_SERIES_INTRADAY call per month.
    assert (av.vendor, av.symbols, av.calls) == ("alphavantage", 7, 7 * 24)
    # 25 at once, then one per 86400 / 25 = 3456 s: 143 more calls.
    assert av.least_seconds == (168 - 25) * 3456
    # 3 coins x 731 days (2024 is a leap year), one market_chart/range call per UTC day.
    assert (cg.vendor, cg.symbols, cg.calls) == ("coingecko", 3, 3 * 731)
    assert cg.least_seconds == (2193 - 30) * 2  # 30 a minute; the 10,000 a month holds


def test_yahoo_for_everything_over_its_thirty_days_of_minutes() -> None:
    source = VendorMarketSource(equity_vendor="yahoo", crypto_vendor="yahoo")
    (yahoo,) = backfill_costs(source, load_universe(), date(2025, 10, 27), date(2025, 11, 25))
    # 22 XNYS sessions (every weekday: no exchange holiday in the range) x 7 equities and
    # ETFs, plus 30 days x 3 coins.
    assert (yahoo.symbols, yahoo.calls) == (10, 22 * 7 + 30 * 3)
    assert yahoo.least_seconds == (244 - 30) * 2
