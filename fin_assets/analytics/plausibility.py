"""Plausibility of one-minute bars: finite, consistent values that still cannot be real.

The quality rules (analytics.quality) accept any finite positive price; a day of 1e308 prices
passes them and then overflows the daily aggregates. These rules run on a session's bars before
anything of it is written (the landing validation, intraday_bars), and name every offending
row by its `ts`:

- `ceiling`: every price is at most `max_price` and every volume at most `max_volume`
  (absolute limits, far above any listed instrument: 1e9 per unit, 1e15 units a minute);
- `overflow`: price × volume and typical price × volume ((high + low + close) / 3 × volume,
  the VWAP's numerator) are finite for every row, and so are the session's sums of volume and
  of typical price × volume: no aggregate of the bars layer can overflow;
- `band`: every price lies within a factor `band` of the session's reference price, i.e. in
  [reference / band, reference × band]. The reference is the median daily close of the symbol's
  last `reference_sessions` sessions before that day; a symbol without earlier sessions uses the
  median of the day's own minute closes (so one wild minute is still caught, a whole first day
  is held only by the ceilings).

The defaults (PlausibilityRules) are documented in docs/reliability.md; the environment
variables FIN_PLAUSIBILITY_MAX_PRICE, FIN_PLAUSIBILITY_MAX_VOLUME, FIN_PLAUSIBILITY_BAND and
FIN_PLAUSIBILITY_REFERENCE_SESSIONS override them (`PlausibilityRules.from_environment`). A
stock split larger than `band` needs the band raised for the run that carries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fin_assets.analytics.quality import PRICE_COLUMNS, SAMPLE_SIZE, RuleResult

PROBLEM_COLUMNS = ["symbol", "trade_date", "ts", "problem"]


@dataclass(frozen=True)
class PlausibilityRules:
    """The limits of the plausibility rules (module docstring)."""

    max_price: float = 1e9
    max_volume: float = 1e15
    band: float = 10.0
    reference_sessions: int = 20

    def __post_init__(self) -> None:
        if not (self.max_price > 0 and self.max_volume > 0):
            raise ValueError("max_price and max_volume must be positive")
        if not self.band > 1:
            raise ValueError(f"band must be a factor above 1, got {self.band}")
        if self.reference_sessions < 1:
            raise ValueError("reference_sessions must be at least 1")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> PlausibilityRules:
        """The defaults, overridden by FIN_PLAUSIBILITY_* variables present in `environ`."""
        defaults = cls()
        return cls(
            max_price=float(environ.get("FIN_PLAUSIBILITY_MAX_PRICE", defaults.max_price)),
            max_volume=float(environ.get("FIN_PLAUSIBILITY_MAX_VOLUME", defaults.max_volume)),
            band=float(environ.get("FIN_PLAUSIBILITY_BAND", defaults.band)),
            reference_sessions=int(
                environ.get("FIN_PLAUSIBILITY_REFERENCE_SESSIONS", defaults.reference_sessions)
            ),
        )


def reference_prices(
    history: pd.DataFrame, days: pd.DataFrame, rules: PlausibilityRules
) -> pd.Series:
    """The band's reference price of each (symbol, trade_date) of `days`, NaN without history.

    `history` holds earlier daily closes (symbol, trade_date, close: the lake's daily bars),
    `days` the closes of the sessions being checked (symbol, trade_date, close: each day's last
    minute close). For each symbol the two are joined (a day being checked replaces its history
    row) and a session's reference is the median of the `reference_sessions` closes before it.
    The result is indexed by (symbol, trade_date) of `days`.
    """
    checked = days[["symbol", "trade_date", "close"]]
    keys = pd.MultiIndex.from_frame(checked[["symbol", "trade_date"]])
    earlier = history[["symbol", "trade_date", "close"]]
    earlier = earlier[~pd.MultiIndex.from_frame(earlier[["symbol", "trade_date"]]).isin(keys)]
    frames = [frame for frame in (earlier, checked) if not frame.empty]
    closes = pd.concat(frames or [checked], ignore_index=True).sort_values(
        ["symbol", "trade_date"], kind="stable"
    )
    medians = closes.groupby("symbol", sort=False)["close"].transform(
        lambda c: c.rolling(rules.reference_sessions, min_periods=1).median().shift(1)
    )
    index = pd.MultiIndex.from_frame(closes[["symbol", "trade_date"]])
    reference = pd.Series(medians.to_numpy(dtype=np.float64), index=index)
    return reference.reindex(keys)


def check_plausibility(
    bars: pd.DataFrame,
    references: pd.Series,
    rules: PlausibilityRules,
) -> RuleResult:
    """Rule "plausibility" over one-minute bars (symbol, trade_date, ts, OHLCV columns).

    `references` gives each (symbol, trade_date) its band reference (reference_prices, indexed
    by both); a NaN or absent one falls back to the median of that session's minute closes.
    failed_rows counts the bars breaking any rule; `sample` lists the first SAMPLE_SIZE of them
    (symbol, trade_date, ts, problem); a session whose sums overflow though each bar is finite
    is named by its SAMPLE_SIZE bars of largest typical price × volume. `detail` names the
    first offending timestamps.
    """
    frame = bars.reset_index(drop=True)
    prices = frame[list(PRICE_COLUMNS)].to_numpy(dtype=np.float64)
    volume = frame["volume"].to_numpy(dtype=np.float64)
    top_price = prices.max(axis=1, initial=0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        typical_volume = (prices[:, 1] + prices[:, 2] + prices[:, 3]) / 3 * volume
        price_volume = top_price * volume
    sessions = frame.groupby(["symbol", "trade_date"], sort=False)
    session_of = sessions.ngroup().to_numpy()
    with np.errstate(over="ignore", invalid="ignore"):
        sums = (
            pd.DataFrame({"volume": volume, "typical_volume": typical_volume})
            .groupby(session_of)
            .sum()
        )
    overflowing = ~np.isfinite(sums.to_numpy()).all(axis=1)
    largest = (
        pd.Series(np.nan_to_num(typical_volume, nan=np.inf))
        .groupby(session_of)
        .rank(method="first", ascending=False)
        .to_numpy()
    )
    keys = pd.MultiIndex.from_frame(frame[["symbol", "trade_date"]])
    reference = (
        references.reindex(keys).to_numpy(dtype=np.float64)
        if len(references)
        else np.full(len(frame), np.nan)
    )
    own_median = sessions["close"].transform("median").to_numpy(dtype=np.float64)
    usable = np.isfinite(reference) & (reference > 0)
    reference = np.where(usable, reference, own_median)
    with np.errstate(over="ignore"):
        low, high = reference / rules.band, reference * rules.band
    outside = ((prices < low[:, None]) | (prices > high[:, None])).any(axis=1)
    rules_broken = [
        (top_price > rules.max_price, lambda _: f"price above {rules.max_price:g}"),
        (volume > rules.max_volume, lambda _: f"volume above {rules.max_volume:g}"),
        (
            ~(np.isfinite(typical_volume) & np.isfinite(price_volume)),
            lambda _: "price × volume overflows",
        ),
        (
            overflowing[session_of] & (largest <= SAMPLE_SIZE),
            lambda _: "the session's volume sums overflow",
        ),
        (
            outside,
            lambda p: (
                f"price outside {low[p]:.6g}..{high[p]:.6g} "
                f"(reference {reference[p]:.6g}, band ×{rules.band:g})"
            ),
        ),
    ]
    problems: dict[int, list[str]] = {}
    for mask, describe in rules_broken:
        for position in np.flatnonzero(mask):
            problems.setdefault(int(position), []).append(describe(position))
    offending = sorted(problems)
    sample = pd.DataFrame(
        [
            (
                frame.at[p, "symbol"],
                frame.at[p, "trade_date"],
                frame.at[p, "ts"],
                "; ".join(problems[p]),
            )
            for p in offending[:SAMPLE_SIZE]
        ],
        columns=PROBLEM_COLUMNS,
    )
    shown = ", ".join(
        f"{row.symbol} {pd.Timestamp(row.ts).isoformat()} ({row.problem})"
        for row in sample.head(5).itertuples()
    )
    detail = (
        f"{len(offending)} implausible bars: {shown}{' ...' if len(offending) > 5 else ''}"
        if offending
        else f"all {len(frame)} bars plausible"
    )
    return RuleResult(
        rule="plausibility",
        passed=not offending,
        failed_rows=len(offending),
        checked_rows=len(frame),
        sample=sample,
        detail=detail,
    )


def session_closes(bars: pd.DataFrame) -> pd.DataFrame:
    """Each (symbol, trade_date)'s last minute close (bars ordered by ts): the `days` of
    reference_prices."""
    ordered = bars.sort_values(["symbol", "trade_date", "ts"], kind="stable")
    last = ordered.groupby(["symbol", "trade_date"], sort=False)["close"].last()
    return last.reset_index()
