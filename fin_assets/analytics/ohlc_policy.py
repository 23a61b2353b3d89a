"""What to do with bars whose high/low do not cover their open/close: the OHLC policy of a source.

Some vendors deliver one-minute bars whose range misses their own open or close by a hair:
CryptoCompare's open is the previous bar's close, which may lie outside the bar's own traded
range (the real 2025-10-12 day in ../shared/data misses by 0.015 % to 0.17 % on 43 of 9,600 bars).
Such a bar is repairable; a bar missing by more is broken data.

- `shortfall(bars)`: per bar, how far high/low miss open/close, relative to the price missed:
  max((max(open, close) − high) / max(open, close), (low − min(open, close)) / min(open, close)),
  0 for a consistent bar. NaN where a price is NaN or not positive (the positive_prices rule's
  business).
- OHLC_TOLERANCE = 0.5 %: a bar missing by more is **refused** whatever the policy. The sources
  refuse the whole file or payload that holds it (a landing file goes to quarantine, a vendor
  payload is VendorPayloadInvalid and not stored), naming the bars by timestamp: a partition is
  never left with a hole where a refused minute was.
- Policies (per source: the vendor name of the raw payload, or `landing`):
  - `repair` (the default): high := max(high, open, close), low := min(low, open, close); the
    other values unchanged. The raw payload stays as received; the repaired bars are counted and
    listed by the bars layer (metadata and a WARN check).
  - `reject`: any inconsistent bar refuses the partition's bars (nothing written).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

OHLC_POLICIES = ("repair", "reject")
DEFAULT_OHLC_POLICY = "repair"
OHLC_TOLERANCE = 0.005


@dataclass(frozen=True, eq=False)
class OhlcOutcome:
    """Bars after a policy: `bars` (repaired under `repair`, else as given); `inconsistent`, the
    `ts` of the bars missing open/close within the tolerance (repaired under `repair`, refusing
    the bars under `reject`); `beyond_tolerance`, the `ts` of the bars missing by more (refused
    under either policy; left unrepaired in `bars`)."""

    bars: pd.DataFrame
    inconsistent: pd.DatetimeIndex
    beyond_tolerance: pd.DatetimeIndex


def check_policy(policy: str) -> str:
    """`policy` when it is one of OHLC_POLICIES; ValueError otherwise."""
    if policy not in OHLC_POLICIES:
        raise ValueError(f"OHLC policy must be one of {OHLC_POLICIES}, got {policy!r}")
    return policy


def shortfall(bars: pd.DataFrame) -> pd.Series:
    """Relative amount by which each bar's high/low miss its open/close (module docstring)."""
    prices = bars[["open", "high", "low", "close"]].astype("float64")
    top = np.maximum(prices["open"], prices["close"])
    bottom = np.minimum(prices["open"], prices["close"])
    with np.errstate(divide="ignore", invalid="ignore"):
        above = (top - prices["high"]) / top
        below = (prices["low"] - bottom) / bottom
    missed = np.maximum(np.maximum(above, below), 0.0)
    valid = (prices > 0).all(axis=1)
    return missed.where(valid).rename("ohlc_shortfall")


def beyond_tolerance(bars: pd.DataFrame, tolerance: float = OHLC_TOLERANCE) -> pd.Series:
    """Boolean Series (index of `bars`): bars missing open/close by more than `tolerance`."""
    return (shortfall(bars) > tolerance).rename("ohlc_beyond_tolerance")


def apply_ohlc_policy(
    bars: pd.DataFrame, policy: str, tolerance: float = OHLC_TOLERANCE
) -> OhlcOutcome:
    """Apply `policy` to bars with columns ts, open, high, low, close (others kept as they are).

    Under `repair` the inconsistent bars within the tolerance get high/low widened to cover
    open and close; a copy is returned, `bars` is never modified.
    """
    check_policy(policy)
    missed = shortfall(bars)
    inconsistent = (missed > 0) & (missed <= tolerance)
    beyond = missed > tolerance
    result = bars
    if policy == "repair" and inconsistent.any():
        result = bars.copy()
        rows = inconsistent.to_numpy()
        covered = result.loc[rows, ["open", "close"]]
        result.loc[rows, "high"] = np.maximum(result.loc[rows, "high"], covered.max(axis=1))
        result.loc[rows, "low"] = np.minimum(result.loc[rows, "low"], covered.min(axis=1))
    return OhlcOutcome(
        bars=result,
        inconsistent=pd.DatetimeIndex(bars.loc[inconsistent.to_numpy(), "ts"]),
        beyond_tolerance=pd.DatetimeIndex(bars.loc[beyond.to_numpy(), "ts"]),
    )
