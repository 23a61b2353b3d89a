"""The plausibility rules (analytics.plausibility) of one-minute bars against the lake's history.

The band's reference of a session is read from the lake's `daily_bars` of the same symbol: the
last `reference_sessions` sessions before the first session being checked, joined with the
closes of the sessions being checked themselves (a range run checks each day against the days
before it, including the run's own).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from fin_assets.analytics.plausibility import (
    PlausibilityRules,
    check_plausibility,
    reference_prices,
    session_closes,
)
from fin_assets.analytics.quality import RuleResult
from fin_assets.analytics.schemas import DAILY_BARS
from fin_assets.objects.store import PartitionReader
from fin_assets.shared.lake_io import each_symbol

# Calendar dates read per wanted session: weekends and holidays are zero-row partitions.
_DATES_PER_SESSION = 2


def daily_closes_before(
    lake: PartitionReader, symbol: str, before: date, sessions: int
) -> pd.DataFrame:
    """The symbol's daily closes (symbol, trade_date, close) of at most its last `sessions`
    sessions before `before`, from the existing daily_bars partitions (none: an empty frame)."""
    dates = sorted(d for d in lake.existing_dates("daily_bars", symbol) if d < before)
    wanted = dates[-sessions * _DATES_PER_SESSION :]
    table = lake.read_partitions("daily_bars", DAILY_BARS, wanted, symbol=symbol)
    closes = table.select(["symbol", "trade_date", "close"]).to_pandas()
    return closes.tail(sessions).reset_index(drop=True)


def check_bars_plausibility(
    lake: PartitionReader, bars: pd.DataFrame, rules: PlausibilityRules
) -> RuleResult:
    """Rule "plausibility" of one-minute bars (symbol, trade_date, ts, OHLCV) with each
    session's band reference taken from the lake's history (module docstring)."""
    if bars.empty:
        return check_plausibility(bars, pd.Series(dtype="float64"), rules)
    days = session_closes(bars)
    first_days = days.groupby("symbol", sort=False)["trade_date"].min()
    history = each_symbol(
        list(first_days.index),
        lambda symbol: daily_closes_before(
            lake, symbol, first_days[symbol], rules.reference_sessions
        ),
    )
    return check_plausibility(bars, reference_prices(pd.concat(history), days, rules), rules)
