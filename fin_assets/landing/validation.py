"""The rules a parsed landing file must pass before anything of it reaches the raw layer.

A row's trade date is the session (in the symbol's exchange calendar, analytics/market_calendar)
whose one-minute bars include its `ts`. The file is rejected, with every failed rule listed,
when it has no rows; when a `ts` is not the open of a session minute of the key's dates (this
is "trade date outside the key's range", and also catches seconds or extended hours); when a
session date of the key's range has no rows; when two rows share a `ts`; or when a row fails
the bar quality rules (OHLC consistency, finite positive prices, finite non-negative volume).
The rejection carries the `ts` of the bars refused by the OHLC tolerance (`refused_bars`), which
the error report counts and lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from fin_assets.analytics import quality
from fin_assets.analytics.market_calendar import session_minutes
from fin_assets.analytics.ohlc_policy import OHLC_TOLERANCE, beyond_tolerance
from fin_assets.landing.contract import LandingContractError, LandingKey
from fin_assets.landing.parsing import MAX_LISTED, listed, row_name


def trade_dates(bars: pd.DataFrame, key: LandingKey, calendar: str) -> pd.Series:
    """The trade date of each row of `bars` (same index); LandingContractError if a rule fails."""
    if bars.empty:
        raise LandingContractError(["the file has no rows"])
    problems = []
    sessions = {day: session_minutes(calendar, day) for day in key.dates}
    indexes = list(sessions.values())
    minutes = indexes[0].append(indexes[1:])
    labels = np.concatenate([np.full(len(m), day, dtype=object) for day, m in sessions.items()])
    positions = minutes.get_indexer(pd.DatetimeIndex(bars["ts"]))
    outside = np.flatnonzero(positions < 0)
    if outside.size:
        shown = [row_name(bars["ts"].iloc[i].isoformat()) for i in outside]
        problems.append(
            f"{outside.size} rows are not bar-open minutes of {calendar} sessions within "
            f"{key.start}..{key.end}: {listed(shown)}"
        )
    found: set[date] = set(labels[positions[positions >= 0]])
    empty = [day.isoformat() for day, m in sessions.items() if len(m) and day not in found]
    if empty:
        problems.append(f"session dates without rows: {', '.join(empty)}")
    duplicated = bars["ts"].duplicated(keep=False)
    if duplicated.any():
        first = bars.loc[duplicated, "ts"].iloc[0].isoformat()
        problems.append(f"{int(duplicated.sum())} rows share their ts with another row ({first})")
    refused = refused_bars(bars)
    problems += ohlc_problems(refused)
    for rule in (
        quality.check_positive_prices,
        quality.check_non_negative_volume,
    ):
        result = rule(bars)
        if not result.passed:
            rows = bars.loc[result.sample.index[:MAX_LISTED], "ts"]
            named = ", ".join(row_name(ts.isoformat()) for ts in rows)
            problems.append(f"{result.rule}: {result.detail} ({named})")
    if problems:
        raise LandingContractError(problems, refused)
    return pd.Series(labels[positions], index=bars.index, name="trade_date")


def refused_bars(bars: pd.DataFrame) -> list[str]:
    """The `ts` (ISO 8601) of the file's bars whose high/low miss open/close beyond
    OHLC_TOLERANCE: refused whatever the OHLC policy (analytics/ohlc_policy.py)."""
    return [ts.isoformat() for ts in bars.loc[beyond_tolerance(bars), "ts"]]


def ohlc_problems(refused: Sequence[str]) -> list[str]:
    """The problem naming the refused bars (refused_bars), if any."""
    if not refused:
        return []
    return [
        f"high/low miss open/close by more than the OHLC repair tolerance ({OHLC_TOLERANCE:.1%})"
        f" in {len(refused)} bars: {listed(refused)}"
    ]
