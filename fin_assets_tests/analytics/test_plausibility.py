"""Plausibility rules: ceilings, aggregate overflow, the band around the symbol's history."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from fin_assets.analytics.bars import aggregate_daily_bars
from fin_assets.analytics.market_calendar import session_minutes
from fin_assets.analytics.plausibility import (
    PlausibilityRules,
    check_plausibility,
    reference_prices,
    session_closes,
)

JAN3 = date(2025, 1, 3)
RULES = PlausibilityRules()
NO_REFERENCE = pd.Series(dtype="float64")


def bars(prices: list[float], volume: float = 100.0, day: date = JAN3) -> pd.DataFrame:
    """AAPL bars from the session's first minute: open = high = low = close = price."""
    ts = session_minutes("XNYS", day)[: len(prices)]
    return pd.DataFrame(
        {
            "symbol": "AAPL",
            "trade_date": day,
            "ts": ts,
            **{column: prices for column in ("open", "high", "low", "close")},
            "volume": volume,
        }
    )


def test_a_day_of_1e308_prices_and_volumes_is_refused_row_by_row() -> None:
    absurd = bars([1e308] * 3, volume=1e308)
    # What it did to the aggregates before this rule: the daily VWAP overflows.
    with np.errstate(over="ignore", invalid="ignore"):
        assert not np.isfinite(aggregate_daily_bars(absurd)["vwap"]).all()

    result = check_plausibility(absurd, NO_REFERENCE, RULES)

    assert (result.passed, result.failed_rows, result.checked_rows) == (False, 3, 3)
    assert result.sample["ts"].tolist() == absurd["ts"].tolist()
    first = result.sample["problem"].iloc[0]
    assert "price above 1e+09" in first and "volume above 1e+15" in first
    assert "price × volume overflows" in first
    assert "AAPL 2025-01-03T14:30:00+00:00" in result.detail


def test_session_sums_that_overflow_are_refused_even_when_each_bar_is_finite() -> None:
    loose = PlausibilityRules(max_price=1e308, max_volume=1e308)
    day = bars([1e300] * 390, volume=1e7)  # each bar 1e307, the session's sum 3.9e309
    assert np.isfinite(day["close"] * day["volume"]).all()

    result = check_plausibility(day, NO_REFERENCE, loose)

    assert not result.passed
    assert result.failed_rows == 20  # the 20 largest contributions are named
    assert set(result.sample["problem"]) == {"the session's volume sums overflow"}


def test_prices_outside_the_band_of_recent_closes_are_named_by_timestamp() -> None:
    history = pd.DataFrame(
        {
            "symbol": "AAPL",
            "trade_date": [date(2025, 1, 2), date(2024, 12, 31), date(2024, 12, 30)],
            "close": [100.0, 90.0, 110.0],
        }
    )
    day = bars([100.0, 1000.0, 1001.0, 10.0, 9.99])
    references = reference_prices(history, session_closes(day), RULES)
    assert references.to_dict() == {("AAPL", JAN3): 100.0}  # median of the three closes

    result = check_plausibility(day, references, RULES)

    assert result.failed_rows == 2
    assert result.sample["ts"].tolist() == [day["ts"].iloc[2], day["ts"].iloc[4]]
    assert result.sample["problem"].iloc[0] == ("price outside 10..1000 (reference 100, band ×10)")
    wider = check_plausibility(day, references, PlausibilityRules(band=20.0))
    assert wider.passed


def test_without_history_the_band_is_around_the_days_own_median() -> None:
    day = bars([100.0] * 10 + [5000.0])
    result = check_plausibility(day, NO_REFERENCE, RULES)
    assert result.sample["ts"].tolist() == [day["ts"].iloc[10]]


def test_a_range_checks_each_day_against_the_days_before_it() -> None:
    first, second = bars([100.0], day=date(2025, 1, 2)), bars([100.0, 950.0], day=JAN3)
    both = pd.concat([first, second], ignore_index=True)
    references = reference_prices(
        pd.DataFrame(columns=["symbol", "trade_date", "close"]), session_closes(both), RULES
    )
    assert np.isnan(references[("AAPL", date(2025, 1, 2))])
    assert references[("AAPL", JAN3)] == 100.0
    assert check_plausibility(both, references, RULES).passed


def test_rules_come_from_the_environment_and_are_validated() -> None:
    rules = PlausibilityRules.from_environment(
        {"FIN_PLAUSIBILITY_BAND": "4", "FIN_PLAUSIBILITY_REFERENCE_SESSIONS": "60"}
    )
    assert rules == PlausibilityRules(band=4.0, reference_sessions=60)
    with pytest.raises(ValueError, match="band must be a factor above 1"):
        PlausibilityRules(band=1.0)
