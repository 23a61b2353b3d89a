"""Risk metrics: value at risk, expected shortfall, volatility, VaR backtests, portfolio risk.

Conventions shared by every function here:

- Returns are simple returns r_t = C_t / C_{t-1} - 1; log returns ln(C_t / C_{t-1}) are used
  only for volatility.
- VaR and expected shortfall (CVaR) are POSITIVE loss fractions of value over a 1-day horizon
  (a VaR of 0.02 means a 2% loss). The h-day figure is conventionally the 1-day figure times
  sqrt(h) (i.i.d. returns); no function here applies that scaling.
- A confidence c is in (0, 1); the loss tail is the lowest (1 - c) of returns.
- Sample statistics use ddof=1 (sample standard deviation and covariance).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import chdtrc, ndtri, xlogy

from fin_assets.analytics.schemas import CORRELATION, PORTFOLIO_RISK, RISK

CONFIDENCE_LEVELS: dict[str, float] = {"95": 0.95, "99": 0.99}
"""Confidence levels of the risk datasets, keyed by the label used in their column names."""

WEIGHT_SUM_TOLERANCE = 1e-9
# Daily returns a date's historical and parametric VaR/CVaR are computed over (the default).
VAR_WINDOW = 250


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _check_window(name: str, window: int, minimum: int) -> None:
    if window < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {window}")


def _as_returns(returns: Sequence[float] | np.ndarray, min_size: int) -> np.ndarray:
    values = np.asarray(returns, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"returns must be one-dimensional, got shape {values.shape}")
    if values.size < min_size:
        raise ValueError(f"need at least {min_size} returns, got {values.size}")
    if not np.isfinite(values).all():
        raise ValueError("returns contain NaN or infinite values")
    return values


def _historical_tail(windows: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Historical (VaR, ES) of each row of a 2-D array of returns.

    The tail mean is capped at the quantile: every return averaged is <= the quantile, so
    ES >= VaR holds exactly, also when summing k copies of the quantile rounds below it.
    """
    quantile = np.quantile(windows, 1.0 - confidence, axis=1)
    in_tail = windows <= quantile[:, np.newaxis]
    tail_mean = np.where(in_tail, windows, 0.0).sum(axis=1) / in_tail.sum(axis=1)
    return -quantile, -np.minimum(tail_mean, quantile)


def _gaussian_tail(
    mu: np.ndarray, sigma: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian (VaR, ES) for return mean `mu` and standard deviation `sigma`.

    The normal quantile and density are scipy.special's `ndtri` and exp(-z²/2)/√(2π), the
    functions scipy.stats.norm evaluates (importing scipy.stats costs every process seconds).
    """
    z = ndtri(confidence)
    var = -(mu + sigma * ndtri(1.0 - confidence))
    density = np.exp(-(z**2) / 2.0) / np.sqrt(2.0 * np.pi)
    shortfall = -(mu - sigma * density / (1.0 - confidence))
    return var, shortfall


def historical_var(returns: Sequence[float] | np.ndarray, confidence: float) -> float:
    """Historical 1-day VaR: -quantile(returns, 1 - confidence).

    The quantile is numpy's default linear interpolation between order statistics
    (Hyndman-Fan type 7). Returns a positive loss fraction.
    """
    _check_confidence(confidence)
    values = _as_returns(returns, min_size=1)
    var, _ = _historical_tail(values[np.newaxis, :], confidence)
    return float(var[0])


def parametric_var(returns: Sequence[float] | np.ndarray, confidence: float) -> float:
    """Gaussian 1-day VaR: -(mu + sigma * Phi^-1(1 - confidence)).

    mu is the sample mean and sigma the sample standard deviation (ddof=1) of `returns`.
    """
    _check_confidence(confidence)
    values = _as_returns(returns, min_size=2)
    var, _ = _gaussian_tail(values.mean(), values.std(ddof=1), confidence)
    return float(var)


def expected_shortfall(
    returns: Sequence[float] | np.ndarray, confidence: float, method: str = "historical"
) -> float:
    """1-day expected shortfall (CVaR) as a positive loss fraction.

    method="historical": -mean of the returns <= q, q = quantile(returns, 1 - confidence) with
    numpy's linear interpolation (the same quantile as `historical_var`).
    method="parametric": Gaussian, -(mu - sigma * phi(z_c) / (1 - c)) with z_c = Phi^-1(c),
    mu the sample mean and sigma the sample standard deviation (ddof=1).
    """
    _check_confidence(confidence)
    if method == "historical":
        values = _as_returns(returns, min_size=1)
        _, shortfall = _historical_tail(values[np.newaxis, :], confidence)
        return float(shortfall[0])
    if method == "parametric":
        values = _as_returns(returns, min_size=2)
        _, shortfall = _gaussian_tail(values.mean(), values.std(ddof=1), confidence)
        return float(shortfall)
    raise ValueError(f"method must be 'historical' or 'parametric', got {method!r}")


def monte_carlo_var(
    returns: Sequence[float] | np.ndarray, confidence: float, n_paths: int, seed: int
) -> float:
    """Monte Carlo 1-day VaR under a Gaussian model.

    Draws `n_paths` returns from N(mu, sigma) (sample mean, sample std with ddof=1) with
    numpy Generator(PCG64(seed)).normal, then returns `historical_var` of the draws.
    """
    _check_confidence(confidence)
    _check_window("n_paths", n_paths, minimum=1)
    values = _as_returns(returns, min_size=2)
    generator = np.random.Generator(np.random.PCG64(seed))
    draws = generator.normal(values.mean(), values.std(ddof=1), size=n_paths)
    return historical_var(draws, confidence)


def _bernoulli_log_likelihood(misses: float, hits: float, probability: float) -> float:
    """misses * ln(1 - p) + hits * ln(p), with 0 * ln(0) = 0."""
    return float(xlogy(misses, 1.0 - probability) + xlogy(hits, probability))


def kupiec_pof(exceptions: int, n: int, confidence: float) -> tuple[float, float]:
    """Kupiec (1995) proportion-of-failures test of VaR exceptions: (LR_pof, p_value).

    With p = 1 - confidence the expected exception rate, x exceptions in n observations and
    x/n the observed rate: LR_pof = -2 [ln L(p) - ln L(x/n)], where
    ln L(q) = (n - x) ln(1 - q) + x ln(q) and 0 * ln(0) = 0. p_value is the chi-squared
    (1 degree of freedom) upper tail of LR_pof.
    """
    _check_confidence(confidence)
    _check_window("n", n, minimum=1)
    if not 0 <= exceptions <= n:
        raise ValueError(f"exceptions must be in [0, n={n}], got {exceptions}")
    misses = n - exceptions
    expected = _bernoulli_log_likelihood(misses, exceptions, 1.0 - confidence)
    observed = _bernoulli_log_likelihood(misses, exceptions, exceptions / n)
    statistic = max(-2.0 * (expected - observed), 0.0)
    return statistic, float(chdtrc(1, statistic))


def christoffersen(
    exception_series: Sequence[int | bool] | np.ndarray, confidence: float
) -> tuple[float, float, float, float]:
    """Christoffersen (1998) tests of a 0/1 VaR exception series: (LR_ind, p_ind, LR_cc, p_cc).

    Independence: n_ij counts the transitions from state i on day t-1 to state j on day t
    (T-1 transitions), pi_01 = n01 / (n00 + n01), pi_11 = n11 / (n10 + n11),
    pi = (n01 + n11) / (T - 1); LR_ind = -2 [ln L(pi) - ln L(pi_01, pi_11)], chi-squared with
    1 degree of freedom. A state never left has probability 0 and 0 * ln(0) = 0.
    Conditional coverage: LR_cc = LR_pof + LR_ind, chi-squared with 2 degrees of freedom, where
    LR_pof is `kupiec_pof` over the whole series (T observations), as in Jorion's textbook.
    """
    _check_confidence(confidence)
    series = np.asarray(exception_series)
    if series.ndim != 1 or series.size < 2:
        raise ValueError("exception_series must be one-dimensional with at least 2 values")
    if not np.isin(series, (0, 1)).all():
        raise ValueError("exception_series must contain only 0/1 (or False/True)")
    flags = series.astype(int)
    previous, current = flags[:-1], flags[1:]
    n00 = int(np.sum((previous == 0) & (current == 0)))
    n01 = int(np.sum((previous == 0) & (current == 1)))
    n10 = int(np.sum((previous == 1) & (current == 0)))
    n11 = int(np.sum((previous == 1) & (current == 1)))
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (flags.size - 1)
    restricted = _bernoulli_log_likelihood(n00 + n10, n01 + n11, pi)
    unrestricted = _bernoulli_log_likelihood(n00, n01, pi01) + _bernoulli_log_likelihood(
        n10, n11, pi11
    )
    lr_ind = max(-2.0 * (restricted - unrestricted), 0.0)
    lr_pof, _ = kupiec_pof(int(flags.sum()), flags.size, confidence)
    lr_cc = lr_pof + lr_ind
    return lr_ind, float(chdtrc(1, lr_ind)), lr_cc, float(chdtrc(2, lr_cc))


def annualized_volatility(
    log_returns: Sequence[float] | np.ndarray, periods_per_year: int
) -> float:
    """Annualized volatility: sample std (ddof=1) of log returns * sqrt(periods_per_year).

    periods_per_year is 252 for exchange calendars and 365 for crypto; the caller chooses.
    """
    _check_window("periods_per_year", periods_per_year, minimum=1)
    values = _as_returns(log_returns, min_size=2)
    return float(_annualized_std(values, periods_per_year))


def _annualized_std(windows: np.ndarray, periods_per_year: int) -> np.ndarray:
    """Sample std (ddof=1) along the last axis * sqrt(periods_per_year)."""
    return windows.std(axis=-1, ddof=1) * np.sqrt(periods_per_year)


def _complete_windows(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The last `window` values ending at each row t, for the rows whose window is NaN-free.

    Returns (rows, windows): the row positions t and the windows values[t - window + 1 : t + 1]
    with the window along the last axis (shape (k, window) for 1-D values, (k, n_columns,
    window) for 2-D values). Rows before the first full window are never included.
    """
    if values.shape[0] < window:
        return np.empty(0, dtype=int), np.empty((0, *values.shape[1:], window))
    windows = sliding_window_view(values, window, axis=0)
    complete = ~np.isnan(windows).reshape(windows.shape[0], -1).any(axis=1)
    return np.flatnonzero(complete) + window - 1, windows[complete]


def _scatter(n_rows: int, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A length-n_rows float array holding `values` at `rows` and NaN elsewhere."""
    result = np.full(n_rows, np.nan)
    result[rows] = values
    return result


def _rolling_tail_metrics(returns: np.ndarray, window: int) -> dict[str, np.ndarray]:
    """Rolling var/cvar columns (hist and param, every confidence level) of a return series."""
    rows, windows = _complete_windows(returns, window)
    mu, sigma = windows.mean(axis=1), windows.std(axis=1, ddof=1)
    columns: dict[str, np.ndarray] = {}
    for label, confidence in CONFIDENCE_LEVELS.items():
        var_hist, cvar_hist = _historical_tail(windows, confidence)
        var_param, cvar_param = _gaussian_tail(mu, sigma, confidence)
        columns[f"var_{label}_hist"] = var_hist
        columns[f"cvar_{label}_hist"] = cvar_hist
        columns[f"var_{label}_param"] = var_param
        columns[f"cvar_{label}_param"] = cvar_param
    return {name: _scatter(returns.shape[0], rows, values) for name, values in columns.items()}


def _rolling_annualized_std(values: np.ndarray, window: int, periods_per_year: int) -> np.ndarray:
    rows, windows = _complete_windows(values, window)
    return _scatter(values.shape[0], rows, _annualized_std(windows, periods_per_year))


def compute_risk_metrics(
    daily_bars: pd.DataFrame,
    periods_per_year: Mapping[str, int],
    var_window: int = VAR_WINDOW,
    vol_windows: tuple[int, int] = (20, 60),
) -> pd.DataFrame:
    """Rolling per-symbol risk metrics of daily bars, in the `schemas.RISK` layout.

    `daily_bars` holds one or many symbols (columns symbol, trade_date, close at least, any
    row order, one row per (symbol, trade_date)). Output: one row per input row, sorted by
    (symbol, trade_date), index reset. Per symbol, return_1d = close_t / close_{t-1} - 1 and
    log_return_1d = ln(close_t / close_{t-1}) against the symbol's previous row (NaN on its
    first row). volatility_20d / volatility_60d are `annualized_volatility` of the last
    vol_windows[0] / vol_windows[1] log returns, with the symbol's `periods_per_year` (the
    column names are fixed by the schema and match the default windows).
    var_*/cvar_* are `historical_var`, `expected_shortfall(historical)`, `parametric_var` and
    `expected_shortfall(parametric)` of the last `var_window` simple returns at 95% and 99%.
    A value on row t uses the window ending at t (inclusive); it is NaN until the window is
    full or when the window contains a NaN return.
    """
    missing = {"symbol", "trade_date", "close"} - set(daily_bars.columns)
    if missing:
        raise ValueError(f"daily_bars is missing columns {sorted(missing)}")
    _check_window("var_window", var_window, minimum=2)
    for window in vol_windows:
        _check_window("vol_windows entries", window, minimum=2)
    symbols = set(daily_bars["symbol"])
    unknown = sorted(symbols - set(periods_per_year))
    if unknown:
        raise ValueError(f"periods_per_year has no entry for symbols {unknown}")
    if daily_bars.duplicated(["symbol", "trade_date"]).any():
        raise ValueError("daily_bars has duplicate (symbol, trade_date) rows")
    if (daily_bars["close"] <= 0).any():
        raise ValueError("daily_bars close must be positive")

    bars = daily_bars.sort_values(["symbol", "trade_date"], kind="stable").reset_index(drop=True)
    close = bars["close"].astype(float)
    ratio = (close / close.groupby(bars["symbol"]).shift(1)).to_numpy()
    result = pd.DataFrame(
        {
            "symbol": bars["symbol"],
            "trade_date": bars["trade_date"],
            "close": close,
            "return_1d": ratio - 1.0,
            "log_return_1d": np.log(ratio),
        }
    )
    metrics = {name: np.full(len(bars), np.nan) for name in RISK.names if name not in result}
    for symbol, rows in bars.groupby("symbol", sort=False).indices.items():
        returns = result["return_1d"].to_numpy()[rows]
        log_returns = result["log_return_1d"].to_numpy()[rows]
        columns = _rolling_tail_metrics(returns, var_window)
        for name, window in zip(("volatility_20d", "volatility_60d"), vol_windows, strict=True):
            columns[name] = _rolling_annualized_std(log_returns, window, periods_per_year[symbol])
        for name, values in columns.items():
            metrics[name][rows] = values
    return result.assign(**metrics)[RISK.names]


def _check_closes_and_weights(closes: pd.DataFrame, weights: Mapping[str, float]) -> None:
    if closes.empty:
        raise ValueError("closes has no rows or no columns")
    if set(weights) != set(closes.columns):
        raise ValueError(
            f"weights symbols {sorted(weights)} must match closes columns {sorted(closes.columns)}"
        )
    total = sum(weights.values())
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise ValueError(f"weights must sum to 1, got {total}")
    if not (closes.index.is_unique and closes.index.is_monotonic_increasing):
        raise ValueError("closes index (trade_date) must be unique and ascending")
    if (closes <= 0).any().any():
        raise ValueError("closes must be positive")


def _rolling_correlations(returns: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation matrices of the last `window` return vectors ending at each row.

    Returns (rows, matrices) for the rows whose window is full and NaN-free; a symbol with zero
    variance in a window has NaN correlations there.
    """
    rows, windows = _complete_windows(returns, window)  # windows: (k, n_symbols, window)
    centered = windows - windows.mean(axis=2, keepdims=True)
    covariance = np.einsum("kit,kjt->kij", centered, centered)
    scale = np.sqrt(np.einsum("kii->ki", covariance))
    with np.errstate(divide="ignore", invalid="ignore"):
        correlation = covariance / (scale[:, :, np.newaxis] * scale[:, np.newaxis, :])
    return rows, np.clip(correlation, -1.0, 1.0)


def compute_portfolio_risk(
    closes: pd.DataFrame,
    weights: Mapping[str, float],
    var_window: int = VAR_WINDOW,
    corr_window: int = 60,
    periods_per_year: int = 252,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rolling risk of a fixed-weight portfolio: (`schemas.PORTFOLIO_RISK`, `schemas.CORRELATION`).

    `closes` is wide: index = trade_date ascending (the reference calendar), one column per
    symbol (crypto sampled on those dates, so its return spans the calendar gap). `weights`
    has one entry per column and sums to 1. Symbol returns r_i,t = C_i,t / C_i,t-1 - 1; the
    portfolio return is sum_i w_i r_i,t (rebalanced daily to the fixed weights), NaN unless
    every symbol has a return that day; n_symbols counts the symbols with a return that day.

    Over the last `var_window` portfolio returns ending at t (NaN until full or if one is NaN):
    volatility_ann = sample std (ddof=1) of the portfolio simple returns * sqrt(periods_per_year);
    var/cvar hist as `historical_var` / `expected_shortfall(historical)`; var/cvar param Gaussian
    with mu = w' mean(r) and sigma^2 = w' Sigma w, Sigma the sample covariance (ddof=1) of the
    return vectors. These equal the mean and sample variance of the portfolio returns in the
    window, which is how they are computed (so sigma * sqrt(periods_per_year) = volatility_ann).

    Correlation frame: for each date whose last `corr_window` return vectors are full and
    NaN-free, the Pearson correlation of every ordered pair (symbol_a, symbol_b) in column
    order, diagonal included; sorted by trade_date, then column order.
    """
    _check_window("var_window", var_window, minimum=2)
    _check_window("corr_window", corr_window, minimum=2)
    _check_window("periods_per_year", periods_per_year, minimum=1)
    _check_closes_and_weights(closes, weights)

    symbols = list(closes.columns)
    prices = closes.to_numpy(dtype=float)
    returns = np.vstack([np.full((1, len(symbols)), np.nan), prices[1:] / prices[:-1] - 1.0])
    portfolio_returns = returns @ np.array([weights[symbol] for symbol in symbols])
    trade_dates = closes.index.to_numpy()

    portfolio = pd.DataFrame(
        {
            "trade_date": trade_dates,
            "n_symbols": (~np.isnan(returns)).sum(axis=1).astype(np.int64),
            "return_1d": portfolio_returns,
            "volatility_ann": _rolling_annualized_std(
                portfolio_returns, var_window, periods_per_year
            ),
            **_rolling_tail_metrics(portfolio_returns, var_window),
        }
    )[PORTFOLIO_RISK.names]

    rows, matrices = _rolling_correlations(returns, corr_window)
    n_pairs = len(symbols) ** 2
    correlations = pd.DataFrame(
        {
            "trade_date": np.repeat(trade_dates[rows], n_pairs),
            "symbol_a": np.tile(np.repeat(symbols, len(symbols)), len(rows)),
            "symbol_b": np.tile(symbols, len(symbols) * len(rows)),
            "correlation": matrices.reshape(-1),
        }
    )[CORRELATION.names]
    return portfolio, correlations


BACKTEST_COLUMNS = [
    "symbol",
    "observations",
    "exceptions",
    "expected_exceptions",
    "kupiec_lr",
    "kupiec_p",
    "christoffersen_lr_ind",
    "christoffersen_p_ind",
    "christoffersen_lr_cc",
    "christoffersen_p_cc",
    "rejected",
]
"""Columns of backtest_var, one row per symbol."""


def backtest_var(
    metrics: pd.DataFrame, var_column: str, confidence: float, window: int = 250
) -> pd.DataFrame:
    """Kupiec POF and Christoffersen tests of one VaR series, per symbol, over its last forecasts.

    `metrics` is compute_risk_metrics output (symbol, trade_date, return_1d, var_column). The
    VaR on row t-1 is the forecast for row t's return: an exception is return_1d(t) < -VaR(t-1).
    Each symbol is tested over its last `window` forecast/return pairs (fewer when its history
    is shorter). Columns: symbol, observations, exceptions, expected_exceptions, kupiec_lr,
    kupiec_p, christoffersen_lr_ind, christoffersen_p_ind, christoffersen_lr_cc,
    christoffersen_p_cc, rejected (any of the Kupiec, independence and conditional-coverage
    p-values below 5%).
    """
    _check_confidence(confidence)
    _check_window("window", window, 2)
    rows = []
    ordered = metrics.sort_values(["symbol", "trade_date"], kind="stable")
    for symbol, group in ordered.groupby("symbol", sort=True):
        forecast = group[var_column].shift(1).to_numpy(dtype=np.float64)
        realized = group["return_1d"].to_numpy(dtype=np.float64)
        valid = ~np.isnan(forecast) & ~np.isnan(realized)
        exceptions = (realized[valid] < -forecast[valid])[-window:].astype(int)
        n = len(exceptions)
        if n < 2:
            continue
        kupiec_lr, kupiec_p = kupiec_pof(int(exceptions.sum()), n, confidence)
        lr_ind, p_ind, lr_cc, p_cc = christoffersen(exceptions, confidence)
        rows.append(
            {
                "symbol": symbol,
                "observations": n,
                "exceptions": int(exceptions.sum()),
                "expected_exceptions": n * (1.0 - confidence),
                "kupiec_lr": kupiec_lr,
                "kupiec_p": kupiec_p,
                "christoffersen_lr_ind": lr_ind,
                "christoffersen_p_ind": p_ind,
                "christoffersen_lr_cc": lr_cc,
                "christoffersen_p_cc": p_cc,
                "rejected": bool(min(kupiec_p, p_ind, p_cc) < 0.05),
            }
        )
    return pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
