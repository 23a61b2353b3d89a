"""Tests of the risk layer against hand-worked numbers and plain-python references."""

from __future__ import annotations

import datetime as dt
import math
import statistics

import numpy as np
import pandas as pd
import pytest

from fin_assets.analytics import risk
from fin_assets.analytics.schemas import CORRELATION, PORTFOLIO_RISK, RISK

# Sorted: -0.05, -0.03, -0.02, -0.01, 0.0, 0.003, 0.007, 0.01, 0.015, 0.02
TEN_RETURNS = [0.01, -0.02, 0.015, -0.05, 0.003, -0.01, 0.02, -0.03, 0.007, 0.0]
STANDARD_NORMAL = statistics.NormalDist()


def reference_quantile(values: list[float], probability: float) -> float:
    """Hyndman-Fan type 7: linear interpolation at position (n - 1) * p of the sorted values."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * probability
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def reference_var_es(values: list[float], confidence: float) -> tuple[float, float]:
    quantile = reference_quantile(values, 1 - confidence)
    tail = [value for value in values if value <= quantile]
    return -quantile, -sum(tail) / len(tail)


def reference_gaussian_var_es(values: list[float], confidence: float) -> tuple[float, float]:
    mu, sigma = statistics.mean(values), statistics.stdev(values)
    var = -(mu + sigma * STANDARD_NORMAL.inv_cdf(1 - confidence))
    es = -(mu - sigma * STANDARD_NORMAL.pdf(STANDARD_NORMAL.inv_cdf(confidence)) / (1 - confidence))
    return var, es


def chi2_sf_1(x: float) -> float:
    return math.erfc(math.sqrt(x / 2))


def chi2_sf_2(x: float) -> float:
    return math.exp(-x / 2)


def bernoulli_ll(misses: int, hits: int, p: float) -> float:
    return (misses * math.log(1 - p) if misses else 0.0) + (hits * math.log(p) if hits else 0.0)


# --- single-sample VaR / ES -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidence", "expected_var", "expected_es"),
    [
        (0.95, 0.041, 0.05),  # position 0.45: -0.05 + 0.45 * 0.02; tail {-0.05}
        (0.80, 0.022, 0.04),  # position 1.8: -0.03 + 0.8 * 0.01; tail {-0.05, -0.03}
        (0.50, -0.0015, 0.022),  # position 4.5: (0 + 0.003) / 2; tail the five lowest
    ],
)
def test_historical_var_and_es_hand_worked(
    confidence: float, expected_var: float, expected_es: float
) -> None:
    assert risk.historical_var(TEN_RETURNS, confidence) == pytest.approx(expected_var, abs=1e-12)
    assert risk.expected_shortfall(TEN_RETURNS, confidence) == pytest.approx(expected_es, abs=1e-12)


def test_historical_var_and_es_match_sort_reference() -> None:
    sample = np.random.default_rng(7).standard_t(df=4, size=137).tolist()
    for confidence in (0.9, 0.95, 0.975, 0.99):
        expected_var, expected_es = reference_var_es(sample, confidence)
        assert risk.historical_var(sample, confidence) == pytest.approx(expected_var, rel=1e-12)
        assert risk.expected_shortfall(sample, confidence, method="historical") == pytest.approx(
            expected_es, rel=1e-12
        )


@pytest.mark.parametrize("confidence", [0.95, 0.99])
def test_parametric_var_and_es_match_normal_dist(confidence: float) -> None:
    expected_var, expected_es = reference_gaussian_var_es(TEN_RETURNS, confidence)
    assert risk.parametric_var(TEN_RETURNS, confidence) == pytest.approx(expected_var, rel=1e-9)
    assert risk.expected_shortfall(TEN_RETURNS, confidence, method="parametric") == pytest.approx(
        expected_es, rel=1e-9
    )


def test_parametric_var_95_concrete_value() -> None:
    # mean -0.0055, stdev 0.02206178; 1.6448536 * 0.02206178 + 0.0055
    assert risk.parametric_var(TEN_RETURNS, 0.95) == pytest.approx(0.041788, abs=1e-6)


def test_monte_carlo_var_is_seeded_and_converges_to_parametric() -> None:
    first = risk.monte_carlo_var(TEN_RETURNS, 0.99, n_paths=200_000, seed=42)
    assert first == risk.monte_carlo_var(TEN_RETURNS, 0.99, n_paths=200_000, seed=42)
    assert first != risk.monte_carlo_var(TEN_RETURNS, 0.99, n_paths=200_000, seed=43)
    expected, _ = reference_gaussian_var_es(TEN_RETURNS, 0.99)
    assert first == pytest.approx(expected, rel=0.02)


def test_monte_carlo_var_equals_quantile_of_pcg64_draws() -> None:
    generator = np.random.Generator(np.random.PCG64(3))
    draws = generator.normal(
        statistics.mean(TEN_RETURNS), statistics.stdev(TEN_RETURNS), size=1000
    ).tolist()
    expected, _ = reference_var_es(draws, 0.95)
    assert risk.monte_carlo_var(TEN_RETURNS, 0.95, n_paths=1000, seed=3) == pytest.approx(
        expected, rel=1e-12
    )


def test_var_99_at_least_var_95_at_least_zero_on_normal_sample() -> None:
    sample = np.random.default_rng(11).normal(0.0, 0.01, size=500)
    for method_var in (risk.historical_var, risk.parametric_var):
        var_95, var_99 = method_var(sample, 0.95), method_var(sample, 0.99)
        assert var_99 >= var_95 >= 0
    for method in ("historical", "parametric"):
        assert risk.expected_shortfall(sample, 0.99, method) >= risk.expected_shortfall(
            sample, 0.95, method
        )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: risk.historical_var(TEN_RETURNS, 1.0), "confidence"),
        (lambda: risk.historical_var([], 0.95), "at least 1"),
        (lambda: risk.historical_var([0.01, float("nan")], 0.95), "NaN"),
        (lambda: risk.parametric_var([0.01], 0.95), "at least 2"),
        (lambda: risk.expected_shortfall(TEN_RETURNS, 0.95, "cornish"), "method"),
        (lambda: risk.monte_carlo_var(TEN_RETURNS, 0.95, n_paths=0, seed=1), "n_paths"),
        (lambda: risk.kupiec_pof(11, 10, 0.99), "exceptions"),
        (lambda: risk.christoffersen([0, 2, 1], 0.99), "0/1"),
        (lambda: risk.christoffersen([1], 0.99), "at least 2"),
    ],
)
def test_bad_input_raises(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# --- backtests ----------------------------------------------------------------------------------


def test_kupiec_textbook_250_obs_99_pct_8_exceptions() -> None:
    expected = -2 * (242 * math.log(0.99) + 8 * math.log(0.01)) + 2 * (
        242 * math.log(242 / 250) + 8 * math.log(8 / 250)
    )
    statistic, p_value = risk.kupiec_pof(8, 250, 0.99)
    assert statistic == pytest.approx(expected, rel=1e-12)
    assert statistic == pytest.approx(7.7336, abs=1e-4)
    assert p_value == pytest.approx(chi2_sf_1(expected), rel=1e-9)
    assert p_value == pytest.approx(0.00542, abs=1e-5)


def test_kupiec_zero_and_all_exceptions() -> None:
    statistic, p_value = risk.kupiec_pof(0, 250, 0.99)
    assert statistic == pytest.approx(-2 * 250 * math.log(0.99), rel=1e-12)
    assert p_value == pytest.approx(chi2_sf_1(statistic), rel=1e-9)
    statistic, _ = risk.kupiec_pof(10, 10, 0.99)
    assert statistic == pytest.approx(-2 * 10 * math.log(0.01), rel=1e-12)


def test_kupiec_exact_coverage_gives_zero() -> None:
    assert risk.kupiec_pof(5, 100, 0.95) == pytest.approx((0.0, 1.0))


def test_christoffersen_unclustered_series_has_zero_independence_statistic() -> None:
    # transitions: n00=4, n01=2, n10=2, n11=1 -> pi01 = pi11 = pi = 1/3
    series = [0, 0, 1, 1, 0, 0, 0, 1, 0, 0]
    lr_ind, p_ind, lr_cc, p_cc = risk.christoffersen(series, 0.9)
    lr_pof = -2 * (bernoulli_ll(7, 3, 0.1) - bernoulli_ll(7, 3, 0.3))
    assert lr_ind == pytest.approx(0.0, abs=1e-12)
    assert p_ind == pytest.approx(1.0)
    assert lr_cc == pytest.approx(lr_pof, rel=1e-12)
    assert p_cc == pytest.approx(chi2_sf_2(lr_pof), rel=1e-9)


def test_christoffersen_clustered_series() -> None:
    # transitions: n00=5, n01=1, n10=1, n11=2; pi01=1/6, pi11=2/3, pi=3/9
    series = [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    restricted = bernoulli_ll(6, 3, 3 / 9)
    unrestricted = bernoulli_ll(5, 1, 1 / 6) + bernoulli_ll(1, 2, 2 / 3)
    expected_ind = -2 * (restricted - unrestricted)
    expected_cc = expected_ind - 2 * (bernoulli_ll(7, 3, 0.05) - bernoulli_ll(7, 3, 0.3))
    lr_ind, p_ind, lr_cc, p_cc = risk.christoffersen(np.array(series, dtype=bool), 0.95)
    assert lr_ind == pytest.approx(expected_ind, rel=1e-12)
    assert p_ind == pytest.approx(chi2_sf_1(expected_ind), rel=1e-9)
    assert lr_cc == pytest.approx(expected_cc, rel=1e-12)
    assert p_cc == pytest.approx(chi2_sf_2(expected_cc), rel=1e-9)


def test_christoffersen_no_exceptions_handles_zero_counts() -> None:
    lr_ind, p_ind, lr_cc, p_cc = risk.christoffersen([0] * 20, 0.99)
    assert lr_ind == 0.0
    assert p_ind == pytest.approx(1.0)
    assert lr_cc == pytest.approx(-2 * 20 * math.log(0.99), rel=1e-12)
    assert p_cc == pytest.approx(math.exp(20 * math.log(0.99)), rel=1e-9)


def test_christoffersen_single_exception_at_the_end() -> None:
    # n00=8, n01=1, no transitions out of state 1 -> pi11 term vanishes, pi01 = pi -> LR_ind 0
    lr_ind, *_ = risk.christoffersen([0] * 9 + [1], 0.99)
    assert lr_ind == pytest.approx(0.0, abs=1e-12)


# --- volatility ---------------------------------------------------------------------------------


@pytest.mark.parametrize("periods_per_year", [252, 365])
def test_annualized_volatility(periods_per_year: int) -> None:
    expected = statistics.stdev(TEN_RETURNS) * math.sqrt(periods_per_year)
    assert risk.annualized_volatility(TEN_RETURNS, periods_per_year) == pytest.approx(
        expected, rel=1e-12
    )


# --- rolling per-symbol metrics -----------------------------------------------------------------


def bars_from_returns(symbol: str, returns: list[float], start: float = 100.0) -> pd.DataFrame:
    closes = [start]
    for value in returns:
        closes.append(closes[-1] * (1 + value))
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=day) for day in range(len(closes))]
    return pd.DataFrame({"symbol": symbol, "trade_date": dates, "close": closes})


def test_compute_risk_metrics_rolling_alignment() -> None:
    returns_a = [*TEN_RETURNS, 0.004, -0.006]
    returns_b = [-value / 2 for value in TEN_RETURNS]
    bars = pd.concat([bars_from_returns("BBB", returns_b), bars_from_returns("AAA", returns_a)])
    bars = bars.sample(frac=1.0, random_state=5)
    result = risk.compute_risk_metrics(
        bars, {"AAA": 252, "BBB": 365}, var_window=5, vol_windows=(3, 4)
    )

    assert list(result.columns) == RISK.names
    assert list(result.index) == list(range(len(bars)))
    assert list(result["symbol"]) == ["AAA"] * 13 + ["BBB"] * 11
    assert list(result["trade_date"]) == sorted(result["trade_date"][:13]) + sorted(
        result["trade_date"][13:]
    )

    for symbol, returns, periods in (("AAA", returns_a, 252), ("BBB", returns_b, 365)):
        rows = result[result["symbol"] == symbol].reset_index(drop=True)
        assert math.isnan(rows["return_1d"][0])
        assert rows["return_1d"][1:].to_numpy() == pytest.approx(returns, rel=1e-9)
        assert rows["log_return_1d"][1:].to_numpy() == pytest.approx(
            [math.log1p(value) for value in returns], rel=1e-9
        )
        for t in range(len(rows)):
            window_5 = returns[max(t - 5, 0) : t]  # returns of rows t-4..t (return i is row i+1)
            if t < 5:
                assert rows.loc[t, RISK.names[7:]].isna().all()
            else:
                for label, confidence in (("95", 0.95), ("99", 0.99)):
                    var_h, es_h = reference_var_es(window_5, confidence)
                    var_p, es_p = reference_gaussian_var_es(window_5, confidence)
                    assert rows.loc[t, f"var_{label}_hist"] == pytest.approx(var_h, rel=1e-9)
                    assert rows.loc[t, f"cvar_{label}_hist"] == pytest.approx(es_h, rel=1e-9)
                    assert rows.loc[t, f"var_{label}_param"] == pytest.approx(var_p, rel=1e-9)
                    assert rows.loc[t, f"cvar_{label}_param"] == pytest.approx(es_p, rel=1e-9)
            for column, window in (("volatility_20d", 3), ("volatility_60d", 4)):
                if t < window:
                    assert math.isnan(rows.loc[t, column])
                else:
                    logs = [math.log1p(value) for value in returns[t - window : t]]
                    expected = statistics.stdev(logs) * math.sqrt(periods)
                    assert rows.loc[t, column] == pytest.approx(expected, rel=1e-9)


def test_compute_risk_metrics_nan_close_blanks_windows_containing_it() -> None:
    bars = bars_from_returns("AAA", TEN_RETURNS)
    bars.loc[4, "close"] = np.nan  # returns of rows 4 and 5 become NaN
    result = risk.compute_risk_metrics(bars, {"AAA": 252}, var_window=3, vol_windows=(2, 3))
    # a window of 3 returns ending at t is NaN-free for t = 3 and t >= 8 (returns 4 and 5 are NaN)
    assert result["var_95_hist"].notna().tolist() == [False] * 3 + [True] + [False] * 4 + [True] * 3
    assert (
        result["volatility_20d"].notna().tolist()
        == [False] * 2 + [True] * 2 + [False] * 3 + [True] * 4
    )


def test_compute_risk_metrics_var_ordering_on_normal_sample() -> None:
    returns = np.random.default_rng(3).normal(0.0005, 0.01, size=400).tolist()
    result = risk.compute_risk_metrics(bars_from_returns("AAA", returns), {"AAA": 252})
    full = result.dropna()
    assert len(full) == 401 - 250
    for kind in ("hist", "param"):
        assert (full[f"var_99_{kind}"] >= full[f"var_95_{kind}"]).all()
        assert (full[f"var_95_{kind}"] >= 0).all()
        assert (full[f"cvar_95_{kind}"] >= full[f"var_95_{kind}"]).all()


@pytest.mark.parametrize(
    ("bars", "periods", "message"),
    [
        (pd.DataFrame({"symbol": ["A"], "close": [1.0]}), {"A": 252}, "trade_date"),
        (bars_from_returns("AAA", [0.01]), {"BBB": 252}, "AAA"),
        (pd.concat([bars_from_returns("AAA", [0.01])] * 2), {"AAA": 252}, "duplicate"),
        (bars_from_returns("AAA", [-1.0]), {"AAA": 252}, "positive"),
    ],
)
def test_compute_risk_metrics_bad_input(
    bars: pd.DataFrame, periods: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        risk.compute_risk_metrics(bars, periods)


# --- portfolio ----------------------------------------------------------------------------------

DATES = [dt.date(2024, 1, 1) + dt.timedelta(days=day) for day in range(4)]


def two_symbol_closes() -> pd.DataFrame:
    # AAA returns 0.1, -0.1, 0.1; BBB returns 0, 0.1, 0
    return pd.DataFrame(
        {"AAA": [100.0, 110.0, 99.0, 108.9], "BBB": [50.0, 50.0, 55.0, 55.0]},
        index=pd.Index(DATES, name="trade_date"),
    )


def test_portfolio_risk_two_symbols_hand_worked() -> None:
    weights = {"AAA": 0.6, "BBB": 0.4}
    result, _ = risk.compute_portfolio_risk(
        two_symbol_closes(), weights, var_window=3, corr_window=3
    )
    assert list(result.columns) == PORTFOLIO_RISK.names
    assert list(result["trade_date"]) == DATES
    assert result["n_symbols"].tolist() == [0, 2, 2, 2]
    assert result["return_1d"][1:].to_numpy() == pytest.approx([0.06, -0.02, 0.06], abs=1e-12)
    assert result.iloc[:3, 3:].isna().all().all()

    last = result.iloc[3]
    # sorted -0.02, 0.06, 0.06; position 2 * 0.05 = 0.1 -> -0.02 + 0.1 * 0.08
    assert last["var_95_hist"] == pytest.approx(0.012, abs=1e-12)
    assert last["cvar_95_hist"] == pytest.approx(0.02, abs=1e-12)

    # w' Sigma w with Sigma the sample covariance of the return vectors
    a, b = [0.1, -0.1, 0.1], [0.0, 0.1, 0.0]
    sigma = [[statistics.covariance(x, y) for y in (a, b)] for x in (a, b)]
    w = [0.6, 0.4]
    variance = sum(w[i] * sigma[i][j] * w[j] for i in range(2) for j in range(2))
    mu = 0.6 * statistics.mean(a) + 0.4 * statistics.mean(b)
    assert last["volatility_ann"] == pytest.approx(math.sqrt(variance * 252), rel=1e-9)
    for label, confidence in (("95", 0.95), ("99", 0.99)):
        z = STANDARD_NORMAL.inv_cdf(confidence)
        expected_var = -(mu - math.sqrt(variance) * z)
        expected_es = -(mu - math.sqrt(variance) * STANDARD_NORMAL.pdf(z) / (1 - confidence))
        assert last[f"var_{label}_param"] == pytest.approx(expected_var, rel=1e-9)
        assert last[f"cvar_{label}_param"] == pytest.approx(expected_es, rel=1e-9)


def test_portfolio_nan_close_blanks_windows() -> None:
    closes = pd.DataFrame(
        {"AAA": [100.0, 101.0, np.nan, 103.0, 104.0, 105.0], "BBB": [10.0, 11, 12, 13, 14, 15]},
        index=[dt.date(2024, 1, day) for day in range(1, 7)],
    )
    result, correlations = risk.compute_portfolio_risk(
        closes, {"AAA": 0.5, "BBB": 0.5}, var_window=2, corr_window=2
    )
    assert result["n_symbols"].tolist() == [0, 2, 1, 1, 2, 2]
    assert result["return_1d"].notna().tolist() == [False, True, False, False, True, True]
    assert result["var_95_hist"].notna().tolist() == [False] * 5 + [True]
    assert sorted(set(correlations["trade_date"])) == [dt.date(2024, 1, 6)]


def test_portfolio_correlations_perfect_and_anti() -> None:
    base = [0.01, -0.02, 0.015, -0.005, 0.03, -0.01]
    series = {"AAA": base, "BBB": [2 * r + 0.001 for r in base], "CCC": [-r for r in base]}
    closes = pd.DataFrame(
        {
            symbol: np.cumprod([100.0] + [1 + r for r in returns])
            for symbol, returns in series.items()
        },
        index=[dt.date(2024, 2, day) for day in range(1, 8)],
    )
    weights = {"AAA": 0.5, "BBB": 0.25, "CCC": 0.25}
    _, correlations = risk.compute_portfolio_risk(closes, weights, var_window=3, corr_window=4)

    assert list(correlations.columns) == CORRELATION.names
    # full NaN-free windows of 4 returns end at rows 4, 5, 6
    assert len(correlations) == 3 * 9
    assert sorted(set(correlations["trade_date"])) == [dt.date(2024, 2, day) for day in (5, 6, 7)]
    first = correlations[correlations["trade_date"] == dt.date(2024, 2, 5)]
    expected = {
        "AAA": {"AAA": 1.0, "BBB": 1.0, "CCC": -1.0},
        "BBB": {"AAA": 1.0, "BBB": 1.0, "CCC": -1.0},
        "CCC": {"AAA": -1.0, "BBB": -1.0, "CCC": 1.0},
    }
    assert list(zip(first["symbol_a"], first["symbol_b"], strict=True)) == [
        (a, b) for a in expected for b in expected
    ]
    for row in first.itertuples():
        assert row.correlation == pytest.approx(expected[row.symbol_a][row.symbol_b], abs=1e-12)


def test_portfolio_correlation_matches_statistics_correlation() -> None:
    rng = np.random.default_rng(9)
    returns = rng.normal(0, 0.01, size=(30, 2))
    closes = pd.DataFrame(
        100 * np.cumprod(1 + np.vstack([np.zeros((1, 2)), returns]), axis=0),
        columns=["AAA", "BBB"],
        index=[dt.date(2024, 1, 1) + dt.timedelta(days=day) for day in range(31)],
    )
    _, correlations = risk.compute_portfolio_risk(
        closes, {"AAA": 0.5, "BBB": 0.5}, var_window=10, corr_window=20
    )
    last = correlations[(correlations["symbol_a"] == "AAA") & (correlations["symbol_b"] == "BBB")]
    simple = (closes / closes.shift(1) - 1).to_numpy()
    expected = statistics.correlation(simple[-20:, 0].tolist(), simple[-20:, 1].tolist())
    assert last["correlation"].iloc[-1] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"AAA": 0.6, "BBB": 0.6}, "sum to 1"),
        ({"AAA": 1.0}, "match closes columns"),
        ({"AAA": 0.5, "BBB": 0.25, "CCC": 0.25}, "match closes columns"),
    ],
)
def test_portfolio_bad_weights(weights: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        risk.compute_portfolio_risk(two_symbol_closes(), weights)


def test_portfolio_unsorted_dates_rejected() -> None:
    with pytest.raises(ValueError, match="ascending"):
        risk.compute_portfolio_risk(two_symbol_closes().iloc[::-1], {"AAA": 0.5, "BBB": 0.5})


def test_portfolio_empty_closes_rejected() -> None:
    with pytest.raises(ValueError, match="no rows"):
        risk.compute_portfolio_risk(two_symbol_closes().iloc[:0], {"AAA": 0.5, "BBB": 0.5})


def test_backtest_var_counts_exceptions_against_the_previous_days_forecast() -> None:
    returns = [np.nan, 0.01, -0.03, 0.0, -0.025, 0.01, 0.02, -0.01, 0.0, -0.005]
    var = [0.02] * 10
    var[3] = 0.05  # the forecast for row 4: its -2.5% return is not an exception
    metrics = pd.DataFrame(
        {
            "symbol": ["A"] * 10,
            "trade_date": pd.date_range("2025-01-01", periods=10).date,
            "return_1d": returns,
            "var_95_hist": var,
        }
    )
    result = risk.backtest_var(metrics.iloc[::-1], "var_95_hist", 0.95, window=250)
    row = result.iloc[0]
    # Forecast/return pairs are rows 1..9 (9 observations); only row 2 (-3% < -2%) is an exception.
    assert (row["observations"], row["exceptions"]) == (9, 1)
    assert row["expected_exceptions"] == pytest.approx(0.45)
    p, x, n = 0.05, 1, 9
    lr = -2 * (
        (n - x) * math.log(1 - p) + x * math.log(p) - (n - x) * math.log(8 / 9) - math.log(1 / 9)
    )
    assert row["kupiec_lr"] == pytest.approx(lr, rel=1e-12)
    assert bool(row["rejected"]) is False


def test_backtest_var_window_keeps_the_last_pairs_only() -> None:
    metrics = pd.DataFrame(
        {
            "symbol": ["A"] * 6,
            "trade_date": pd.date_range("2025-01-01", periods=6).date,
            "return_1d": [np.nan, -0.05, -0.05, 0.0, 0.0, 0.0],
            "var_95_hist": [0.01] * 6,
        }
    )
    result = risk.backtest_var(metrics, "var_95_hist", 0.95, window=3)
    assert (result["observations"].iloc[0], result["exceptions"].iloc[0]) == (3, 0)


def test_historical_shortfall_is_never_below_var_when_the_tail_ties() -> None:
    # Averaging 19 copies of 0.1 rounds to 0.10000000000000002; ES is capped at the quantile.
    returns = [0.1] * 19 + [0.5]
    assert risk.expected_shortfall(returns, 0.95, "historical") == risk.historical_var(
        returns, 0.95
    )
