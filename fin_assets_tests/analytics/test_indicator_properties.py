"""Property tests of compute_indicators on random-walk daily bars (hypothesis).

Histories are random walks of bounded log returns (1-400 rows) with consistent OHLC:
high >= max(open, close) and low <= min(open, close), all prices positive.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fin_assets.analytics.indicators import compute_indicators
from fin_assets.analytics.schemas import INDICATORS

MAX_ROWS = 400
PROPERTY_SETTINGS = settings(max_examples=50, deadline=None)

log_steps = st.floats(min_value=-0.1, max_value=0.1, allow_subnormal=False)
wicks = st.floats(min_value=0.0, max_value=0.05, allow_subnormal=False)


@st.composite
def histories(draw: st.DrawFn, symbol: str = "AAA") -> pd.DataFrame:
    """Daily bars of one symbol on consecutive dates, ascending, from a random walk of closes."""
    n = draw(st.integers(min_value=1, max_value=MAX_ROWS))
    first_close = draw(st.floats(min_value=1.0, max_value=1000.0))
    first_date = dt.date(2000, 1, 1) + dt.timedelta(days=draw(st.integers(0, 3650)))
    close = first_close * np.exp(np.cumsum(draw(arrays(np.float64, n, elements=log_steps))))
    open_ = close * np.exp(draw(arrays(np.float64, n, elements=log_steps)))
    high = np.maximum(open_, close) * np.exp(draw(arrays(np.float64, n, elements=wicks)))
    low = np.minimum(open_, close) * np.exp(-draw(arrays(np.float64, n, elements=wicks)))
    return pd.DataFrame(
        {
            "symbol": symbol,
            "trade_date": [first_date + dt.timedelta(days=i) for i in range(n)],
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": 1.0,
        }
    )


@given(histories())
@PROPERTY_SETTINGS
def test_generated_bars_are_consistent_ohlc(bars: pd.DataFrame) -> None:
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["low"] > 0).all()


@given(histories())
@PROPERTY_SETTINGS
def test_rsi_is_between_0_and_100(bars: pd.DataFrame) -> None:
    rsi = compute_indicators(bars)["rsi_14"]
    assert rsi.isna().sum() == min(14, len(bars))
    assert rsi.dropna().between(0.0, 100.0).all()


@given(histories())
@PROPERTY_SETTINGS
def test_bollinger_bands_are_ordered(bars: pd.DataFrame) -> None:
    result = compute_indicators(bars)
    defined = result["bb_middle"].notna()
    assert defined.sum() == max(len(bars) - 19, 0)
    assert result.loc[defined, ["bb_lower", "bb_upper"]].notna().all(axis=None)
    assert (result.loc[defined, "bb_lower"] <= result.loc[defined, "bb_middle"]).all()
    assert (result.loc[defined, "bb_middle"] <= result.loc[defined, "bb_upper"]).all()


@given(st.data(), histories())
@PROPERTY_SETTINGS
def test_invariant_to_row_order(data: st.DataObject, bars: pd.DataFrame) -> None:
    order = data.draw(st.permutations(range(len(bars))))
    shuffled = bars.iloc[list(order)]
    pd.testing.assert_frame_equal(
        compute_indicators(shuffled), compute_indicators(bars), check_exact=True
    )


@given(
    st.lists(
        st.sampled_from(["AAA", "BBB", "CCC", "DDD"]), min_size=1, max_size=4, unique=True
    ).flatmap(lambda symbols: st.tuples(*(histories(symbol=symbol) for symbol in symbols))),
    st.randoms(use_true_random=False),
)
@PROPERTY_SETTINGS
def test_many_symbols_equal_each_symbol_alone(
    per_symbol: tuple[pd.DataFrame, ...], rng: random.Random
) -> None:
    mixed = pd.concat(per_symbol, ignore_index=True)
    mixed = mixed.sample(frac=1.0, random_state=rng.randrange(2**32))
    expected = pd.concat(
        [compute_indicators(bars) for bars in sorted(per_symbol, key=lambda b: b["symbol"][0])],
        ignore_index=True,
    )
    result = compute_indicators(mixed)
    assert list(result.columns) == INDICATORS.names
    pd.testing.assert_frame_equal(result, expected, check_exact=True)


@given(st.data(), histories())
@PROPERTY_SETTINGS
def test_prefix_of_history_gives_prefix_of_result(data: st.DataObject, bars: pd.DataFrame) -> None:
    """Row t depends only on rows <= t, so a date partition reproduces the whole-history run."""
    cut = data.draw(st.integers(min_value=0, max_value=len(bars)), label="cut")
    whole = compute_indicators(bars)
    prefix = compute_indicators(bars.iloc[:cut])
    pd.testing.assert_frame_equal(prefix, whole.iloc[:cut], check_exact=True)
