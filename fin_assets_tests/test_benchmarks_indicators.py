"""Smoke test of benchmarks/indicators.py at a tiny size: it measures, it compares like with like.

Nothing here is timed against a target; the benchmark itself is run by hand.
"""

import math

import numpy as np
import pytest

from benchmarks.indicators import (
    SETTLED_ROW,
    interleaved_best_of,
    measure_case,
    report,
    synthetic_bars,
)


def test_synthetic_bars_is_a_deterministic_consistent_random_walk() -> None:
    bars = synthetic_bars(2, 3)
    first_return = np.random.default_rng(7).normal(0.0, 0.02)
    assert list(bars["symbol"]) == ["S0000"] * 3 + ["S0001"] * 3
    assert [str(day) for day in bars["trade_date"][:3]] == [
        "2015-01-01",
        "2015-01-02",
        "2015-01-05",
    ]
    assert bars["close"].iloc[0] == pytest.approx(100.0 * math.exp(first_return), rel=1e-15)
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert bars.equals(synthetic_bars(2, 3))


@pytest.mark.parametrize(
    ("keys", "per_symbol", "calls"),
    [("object", False, "one"), ("arrow", False, "one"), ("object", True, "per symbol")],
)
def test_measure_case_gives_finite_ratios_and_agreeing_outputs(
    keys: str, per_symbol: bool, calls: str
) -> None:
    case = measure_case(
        symbols=3, days=SETTLED_ROW + 50, repeats=2, keys=keys, per_symbol=per_symbol
    )
    assert case.rows == 3 * (SETTLED_ROW + 50)
    ratios = (case.overhead, case.cpu_overhead)
    for ratio in (*ratios, case.speedup):
        assert math.isfinite(ratio) and ratio > 0
    assert case.talib_max_abs_diff == 0.0
    assert case.ta_max_rel_diff < 1e-8
    assert f"| tiny | {keys} | {calls} | {case.rows:,} |" in report([("tiny", case)])


def test_interleaved_best_of_keeps_each_functions_fastest_round_and_last_result() -> None:
    calls: list[str] = []

    def first() -> int:
        calls.append("first")
        return len(calls)

    def second() -> str:
        calls.append("second")
        return "done"

    fastest, results = interleaved_best_of(3, [first, second])

    assert calls == ["first", "second"] * 3
    assert results == [5, "done"]
    assert len(fastest) == 2
    assert all(0.0 <= seconds < 1.0 for each in fastest for seconds in (each.wall, each.cpu))


def test_measure_case_rejects_too_short_histories() -> None:
    with pytest.raises(ValueError, match=f"days > {SETTLED_ROW}"):
        measure_case(symbols=1, days=SETTLED_ROW, repeats=1)
