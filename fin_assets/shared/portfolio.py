"""The portfolio of the portfolio_risk asset and the Spark cross-symbol job: its calendar and
its weights."""

from __future__ import annotations

from collections.abc import Mapping

from fin_assets.shared.partitions import partition_values

# Portfolio figures are computed on the sessions of this calendar; crypto closes are sampled on
# those dates, so a weekend's crypto move lands in Monday's return.
PORTFOLIO_CALENDAR = "XNYS"


def portfolio_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Weight of every universe symbol (universe order): `weights` (fractions summing to 1;
    symbols left out weigh 0), or equal weights over the universe when `weights` is empty.
    Raises ValueError when `weights` names a symbol outside the universe."""
    symbols = partition_values().symbols
    if not weights:
        return {symbol: 1.0 / len(symbols) for symbol in symbols}
    unknown = sorted(set(weights) - set(symbols))
    if unknown:
        raise ValueError(f"portfolio weights name symbols outside the universe: {unknown}")
    return {symbol: float(weights.get(symbol, 0.0)) for symbol in symbols}
