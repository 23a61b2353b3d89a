"""Property tests of the VaR / expected shortfall functions and compute_risk_metrics (hypothesis).

Return samples have at least 20 values in [-0.5, 0.5] and a sample standard deviation above 1e-6.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fin_assets.analytics.risk import (
    compute_risk_metrics,
    expected_shortfall,
    historical_var,
    monte_carlo_var,
    parametric_var,
)

PROPERTY_SETTINGS = settings(max_examples=50, deadline=None)
CONFIDENCES = (0.95, 0.99)

return_values = st.floats(min_value=-0.5, max_value=0.5, allow_subnormal=False)


@st.composite
def return_samples(draw: st.DrawFn) -> np.ndarray:
    """At least 20 returns with a sample standard deviation above 1e-6 (not constant)."""
    size = draw(st.integers(min_value=20, max_value=300))
    values = draw(arrays(np.float64, size, elements=return_values))
    assume(values.std(ddof=1) > 1e-6)
    return values


@given(return_samples())
@PROPERTY_SETTINGS
def test_historical_var_99_is_at_least_var_95(returns: np.ndarray) -> None:
    assert historical_var(returns, 0.99) >= historical_var(returns, 0.95)


@given(return_samples())
@PROPERTY_SETTINGS
def test_parametric_var_99_exceeds_var_95(returns: np.ndarray) -> None:
    assert parametric_var(returns, 0.99) > parametric_var(returns, 0.95)


@given(return_samples(), st.sampled_from(CONFIDENCES))
@PROPERTY_SETTINGS
def test_historical_shortfall_is_at_least_var(returns: np.ndarray, confidence: float) -> None:
    shortfall = expected_shortfall(returns, confidence, method="historical")
    assert shortfall >= historical_var(returns, confidence)


@given(return_samples(), st.sampled_from(CONFIDENCES))
@PROPERTY_SETTINGS
def test_parametric_shortfall_exceeds_var(returns: np.ndarray, confidence: float) -> None:
    shortfall = expected_shortfall(returns, confidence, method="parametric")
    assert shortfall > parametric_var(returns, confidence)


@given(return_samples(), st.sampled_from(CONFIDENCES), st.integers(0, 2**63 - 1))
@PROPERTY_SETTINGS
def test_monte_carlo_var_is_reproducible_for_a_seed(
    returns: np.ndarray, confidence: float, seed: int
) -> None:
    first = monte_carlo_var(returns, confidence, n_paths=500, seed=seed)
    assert np.isfinite(first)
    assert monte_carlo_var(returns.copy(), confidence, n_paths=500, seed=seed) == first


@st.composite
def daily_closes(draw: st.DrawFn) -> pd.DataFrame:
    """Random-walk closes of 1-3 symbols on consecutive dates, each 1-120 rows, rows shuffled."""
    symbols = draw(st.lists(st.sampled_from(["AAA", "BBB", "CCC"]), min_size=1, unique=True))
    frames = []
    for symbol in symbols:
        n = draw(st.integers(min_value=1, max_value=120))
        steps = draw(arrays(np.float64, n, elements=st.floats(-0.2, 0.2, allow_subnormal=False)))
        frames.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "trade_date": [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(n)],
                    "close": 100.0 * np.exp(np.cumsum(steps)),
                }
            )
        )
    order = draw(st.randoms(use_true_random=False)).randrange(2**32)
    return pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=order)


@given(daily_closes(), st.integers(min_value=20, max_value=60))
@PROPERTY_SETTINGS
def test_risk_metrics_are_ordered_where_defined(bars: pd.DataFrame, var_window: int) -> None:
    metrics = compute_risk_metrics(
        bars, {symbol: 252 for symbol in bars["symbol"].unique()}, var_window=var_window
    )
    first_full = metrics.groupby("symbol").cumcount() >= var_window
    for method in ("hist", "param"):
        columns = [f"{kind}_{level}_{method}" for kind in ("var", "cvar") for level in ("95", "99")]
        defined = metrics[columns].notna().all(axis=1)
        assert (defined == first_full).all()
        rows = metrics[defined]
        assert (rows[f"var_99_{method}"] >= rows[f"var_95_{method}"]).all()
        for level in ("95", "99"):
            slack = rows[f"cvar_{level}_{method}"] - rows[f"var_{level}_{method}"]
            assert (slack >= 0).all()
