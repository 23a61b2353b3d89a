"""The offline synthetic market: deterministic one-minute bars, the platform's default source.

Model, per (seed, symbol):

- Daily closes. One log return per CALENDAR day from ANCHOR to CALENDAR_END:
  r_d = annual_drift / 365 - sigma_d^2 / 2 + sigma_d * z_d, z_d ~ N(0, 1), r at ANCHOR = 0, with
  sigma_d = annual_vol / sqrt(365) * regime multiplier. The regime is a 3-state Markov chain
  (calm, normal, stressed; REGIME_TRANSITIONS, starting "normal" at ANCHOR) whose multipliers
  are scaled so the long-run annual volatility equals the asset class's `annual_vol`. The log
  close of a day is the cumulative sum, shifted so the close of REFERENCE_DATE is the symbol's
  reference price. A session closes at its day's level, so returns of weekends and holidays
  accumulate into the next session. Computed once per (seed, symbol) and cached.
- Session open. "24/7" calendars trade continuously: the open is exactly the previous day's
  close. Exchange calendars open with a gap: log(open / previous session close) =
  OVERNIGHT_SHARE * (session's close-to-close log return) + N(0, (OVERNIGHT_NOISE * sigma_d)^2).
- Intraday path. The log price at the n + 1 minute boundaries is a Brownian bridge from the open
  to the close with total variance sigma_d^2 over the session; bar i spans boundaries i and i+1.
  Each bar's high (low) exceeds max(open, close) (undercuts min(open, close)) by a half-normal
  wick of WICK_SCALE minute-sigmas, in log terms.
- Volume. daily_dollar_volume / reference price units a session, spread over its minutes by
  a U-shaped profile (exchange calendars) or a mild diurnal one peaking at 15:00 UTC ("24/7"),
  times the regime's volume multiplier and mean-one lognormal noise.
- Prices are rounded to the asset class's price decimals (cents for equities and ETFs, 4
  decimals for crypto) and volumes to its volume decimals. Rounding is monotone, so every bar
  stays OHLC-consistent; this is asserted.

Randomness comes only from numpy Generators seeded with SeedSequence(seed, crc32(symbol),
stream[, day ordinal]): a day's bars depend on (seed, symbol, day) alone, never on which days
were simulated before.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np
import pandas as pd

from fin_assets.analytics.market_calendar import (
    CALENDAR_END,
    CALENDAR_START,
    session_minutes,
    sessions_in_range,
)
from fin_assets.universe import Symbol

ANCHOR = CALENDAR_START
REFERENCE_DATE = date(2024, 12, 31)
DAYS_PER_YEAR = 365
CONTINUOUS_CALENDAR = "24/7"


@dataclass(frozen=True)
class AssetClassProfile:
    """Model parameters of one asset class (annualized figures are per 365 calendar days)."""

    annual_vol: float
    annual_drift: float
    daily_dollar_volume: float
    price_decimals: int
    volume_decimals: int


PROFILES: dict[str, AssetClassProfile] = {
    "etf": AssetClassProfile(0.15, 0.07, 30e9, 2, 0),
    "equity": AssetClassProfile(0.30, 0.08, 5e9, 2, 0),
    "crypto": AssetClassProfile(0.70, 0.0, 10e9, 4, 4),
}

REFERENCE_PRICES: dict[str, float] = {
    "AAPL": 250.0,
    "MSFT": 420.0,
    "NVDA": 135.0,
    "JPM": 240.0,
    "XOM": 107.0,
    "JNJ": 145.0,
    "SPY": 585.0,
    "BTC": 93_000.0,
    "ETH": 3_300.0,
    "SOL": 190.0,
}
"""Close at REFERENCE_DATE of the known symbols; others get fallback_reference_price()."""

REGIMES = ("calm", "normal", "stressed")
REGIME_TRANSITIONS = np.array(
    [
        [0.97, 0.03, 0.00],
        [0.02, 0.97, 0.01],
        [0.00, 0.05, 0.95],
    ]
)
"""Daily transition probabilities (row: today's regime, column: tomorrow's)."""
REGIME_VOL_MULTIPLIERS = np.array([0.7, 1.0, 2.5])
REGIME_VOLUME_MULTIPLIERS = np.array([0.8, 1.0, 1.8])
INITIAL_REGIME = 1

OVERNIGHT_SHARE = 0.25
OVERNIGHT_NOISE = 0.25
WICK_SCALE = 0.5
U_SHAPE_DEPTH = 3.0
DIURNAL_AMPLITUDE = 0.3
DIURNAL_PEAK_HOUR_UTC = 15.0
VOLUME_NOISE = 0.4

PATH_STREAM = 0
DAY_STREAM = 1

BAR_COLUMNS = ("ts", "open", "high", "low", "close", "volume")
PAYLOAD_SOURCE = "synthetic"
PAYLOAD_SCHEMA_VERSION = 1
PAYLOAD_KEYS = ("source", "schema_version", "symbol", "trade_date", "seed", "timezone", "bars")
PAYLOAD_ARRAYS = {"t": "ts", "o": "open", "h": "high", "l": "low", "c": "close", "v": "volume"}


def _stationary_distribution(transitions: np.ndarray) -> np.ndarray:
    """pi with pi @ P = pi and sum(pi) = 1."""
    size = len(transitions)
    system = np.vstack([transitions.T - np.eye(size), np.ones(size)])
    target = np.append(np.zeros(size), 1.0)
    return np.linalg.lstsq(system, target, rcond=None)[0]


REGIME_VOL_SCALE = REGIME_VOL_MULTIPLIERS / np.sqrt(
    _stationary_distribution(REGIME_TRANSITIONS) @ REGIME_VOL_MULTIPLIERS**2
)
"""Regime multipliers scaled to a stationary mean-square of one."""


@dataclass(frozen=True)
class DailyPath:
    """One symbol's daily model, indexed by calendar day (index 0 is ANCHOR). Read-only arrays."""

    log_close: np.ndarray
    sigma: np.ndarray
    regime: np.ndarray
    previous_session: np.ndarray
    """Index of the last session strictly before each day (0, the anchor, when none)."""


def _profile(asset_class: str) -> AssetClassProfile:
    try:
        return PROFILES[asset_class]
    except KeyError:
        raise ValueError(f"no simulation profile for asset class {asset_class!r}") from None


def _symbol_key(ticker: str) -> int:
    return zlib.crc32(ticker.encode("utf-8"))


def _generator(seed: int, ticker: str, *stream: int) -> np.random.Generator:
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return np.random.default_rng(np.random.SeedSequence([seed, _symbol_key(ticker), *stream]))


def fallback_reference_price(ticker: str) -> float:
    """Reference price of a symbol not in REFERENCE_PRICES: 10 + (crc32(ticker) % 19000) / 100."""
    return 10.0 + (_symbol_key(ticker) % 19_000) / 100


def _reference_price(ticker: str) -> float:
    return REFERENCE_PRICES.get(ticker, fallback_reference_price(ticker))


def _markov_regimes(uniforms: np.ndarray) -> np.ndarray:
    """Markov regime path: INITIAL_REGIME on day 0, then on day d the first regime whose
    cumulative transition probability from day d - 1's regime exceeds uniforms[d]."""
    cumulative = np.cumsum(REGIME_TRANSITIONS, axis=1).tolist()
    regimes = np.empty(len(uniforms), dtype=np.int64)
    state = INITIAL_REGIME
    for day, draw in enumerate(uniforms.tolist()):
        if day > 0:
            row = cumulative[state]
            state = 0 if draw < row[0] else (1 if draw < row[1] else 2)
        regimes[day] = state
    return regimes


def _read_only(*arrays: np.ndarray) -> None:
    for array in arrays:
        array.flags.writeable = False


@cache
def _daily_path(seed: int, ticker: str, asset_class: str, calendar: str) -> DailyPath:
    """The daily model of the module docstring (keyed on hashable fields: Symbol holds a dict)."""
    profile = _profile(asset_class)
    days = (CALENDAR_END - ANCHOR).days + 1
    rng = _generator(seed, ticker, PATH_STREAM)
    regime = _markov_regimes(rng.random(days))
    shocks = rng.standard_normal(days)
    sigma = profile.annual_vol / np.sqrt(DAYS_PER_YEAR) * REGIME_VOL_SCALE[regime]
    returns = profile.annual_drift / DAYS_PER_YEAR - sigma**2 / 2 + sigma * shocks
    returns[0] = 0.0
    log_close = np.cumsum(returns)
    log_close += np.log(_reference_price(ticker)) - log_close[(REFERENCE_DATE - ANCHOR).days]
    sessions = sessions_in_range(calendar, ANCHOR, CALENDAR_END)
    is_session = np.zeros(days, dtype=bool)
    is_session[[(session - ANCHOR).days for session in sessions]] = True
    latest_session = np.maximum.accumulate(np.where(is_session, np.arange(days), 0))
    previous_session = np.concatenate([[0], latest_session[:-1]])
    _read_only(log_close, sigma, regime, previous_session)
    return DailyPath(log_close, sigma, regime, previous_session)


def _volume_profile(minutes: pd.DatetimeIndex, continuous: bool) -> np.ndarray:
    """Relative volume of each minute, mean one over the session."""
    if continuous:
        hours = (minutes.hour + minutes.minute / 60).to_numpy()
        weights = 1 + DIURNAL_AMPLITUDE * np.cos(2 * np.pi * (hours - DIURNAL_PEAK_HOUR_UTC) / 24)
    else:
        fraction = (np.arange(len(minutes)) + 0.5) / len(minutes)
        weights = 1 + U_SHAPE_DEPTH * (2 * fraction - 1) ** 2
    return weights / weights.mean()


def _bars_frame(ts: pd.DatetimeIndex, ohlcv: list[np.ndarray]) -> pd.DataFrame:
    """Frame of BAR_COLUMNS from the timestamps and the open, high, low, close, volume arrays."""
    values = zip(BAR_COLUMNS[1:], ohlcv, strict=True)
    return pd.DataFrame({"ts": ts} | {name: np.asarray(v, dtype=np.float64) for name, v in values})


def simulate_intraday(seed: int, symbol: Symbol, day: date) -> pd.DataFrame:
    """One-minute bars of `symbol` on `day` (see the module docstring for the model).

    Columns ts (bar open, UTC, exactly market_calendar.session_minutes of the day), open, high,
    low, close, volume (float64); zero rows when `day` is not a session. Deterministic in
    (seed, symbol.symbol, day): independent of any other call. seed must be >= 0.
    """
    minutes = session_minutes(symbol.calendar, day)
    if minutes.empty:
        return _bars_frame(minutes, [np.empty(0)] * 5)
    profile = _profile(symbol.asset_class)
    continuous = symbol.calendar == CONTINUOUS_CALENDAR
    path = _daily_path(seed, symbol.symbol, symbol.asset_class, symbol.calendar)
    index = (day - ANCHOR).days
    sigma = path.sigma[index]
    log_previous = path.log_close[path.previous_session[index]]
    log_close = path.log_close[index]
    rng = _generator(seed, symbol.symbol, DAY_STREAM, day.toordinal())
    if continuous:
        log_open = log_previous
    else:
        gap_noise = OVERNIGHT_NOISE * sigma * rng.standard_normal()
        log_open = log_previous + OVERNIGHT_SHARE * (log_close - log_previous) + gap_noise

    n = len(minutes)
    minute_sigma = sigma / np.sqrt(n)
    walk = np.concatenate([[0.0], np.cumsum(rng.standard_normal(n) * minute_sigma)])
    fraction = np.arange(n + 1) / n
    log_path = log_open + fraction * (log_close - log_open) + walk - fraction * walk[-1]
    log_path[0], log_path[-1] = log_open, log_close
    prices = np.exp(log_path)
    opens, closes = prices[:-1], prices[1:]
    wicks = np.abs(rng.standard_normal((2, n))) * WICK_SCALE * minute_sigma
    highs = np.maximum(opens, closes) * np.exp(wicks[0])
    lows = np.minimum(opens, closes) * np.exp(-wicks[1])

    units = profile.daily_dollar_volume / _reference_price(symbol.symbol) / n
    noise = np.exp(VOLUME_NOISE * rng.standard_normal(n) - VOLUME_NOISE**2 / 2)
    volume = (
        units
        * _volume_profile(minutes, continuous)
        * REGIME_VOLUME_MULTIPLIERS[path.regime[index]]
        * noise
    )

    opens, highs, lows, closes = (
        np.round(values, profile.price_decimals) for values in (opens, highs, lows, closes)
    )
    assert (lows > 0).all(), f"{symbol.symbol} {day}: a rounded price is not positive"
    assert (highs >= np.maximum(opens, closes)).all() and (
        lows <= np.minimum(opens, closes)
    ).all(), f"{symbol.symbol} {day}: rounding broke OHLC consistency"
    volume = np.round(volume, profile.volume_decimals)
    return _bars_frame(minutes, [opens, highs, lows, closes, volume])


def encode_payload(seed: int, symbol: Symbol, day: date, bars: pd.DataFrame) -> bytes:
    """The synthetic vendor's response body for `bars`: compact UTF-8 JSON, columnar.

    {"source": "synthetic", "schema_version": 1, "symbol", "trade_date": "YYYY-MM-DD", "seed",
    "timezone": symbol.timezone, "bars": {"t": [epoch ms of ts], "o", "h", "l", "c", "v"}}.
    Floats are written with Python's shortest round-trip repr, so decoding is exact.
    """
    missing = [column for column in BAR_COLUMNS if column not in bars.columns]
    if missing:
        raise ValueError(f"bars are missing columns {missing}")
    epoch_ms = pd.DatetimeIndex(bars["ts"]).as_unit("ms").asi8.tolist()
    arrays = {
        key: (epoch_ms if column == "ts" else bars[column].astype(float).tolist())
        for key, column in PAYLOAD_ARRAYS.items()
    }
    payload = {
        "source": PAYLOAD_SOURCE,
        "schema_version": PAYLOAD_SCHEMA_VERSION,
        "symbol": symbol.symbol,
        "trade_date": day.isoformat(),
        "seed": seed,
        "timezone": symbol.timezone,
        "bars": arrays,
    }
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def decode_payload(content: bytes) -> pd.DataFrame:
    """Bars (ts UTC with unit "us", open, high, low, close, volume float64) of a synthetic payload.

    Raises ValueError on invalid UTF-8 or JSON, a non-object document, missing keys, a wrong
    source or schema_version, a bar array that is not a list of numbers (integers for "t"), or
    bar arrays of unequal lengths.
    """
    try:
        payload = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"synthetic payload is not valid UTF-8 JSON: {error}") from None
    if not isinstance(payload, dict):
        raise ValueError("synthetic payload must be a JSON object")
    missing = [key for key in PAYLOAD_KEYS if key not in payload]
    if missing:
        raise ValueError(f"synthetic payload is missing keys {missing}")
    if payload["source"] != PAYLOAD_SOURCE:
        raise ValueError(f"payload source is {payload['source']!r}, expected {PAYLOAD_SOURCE!r}")
    if payload["schema_version"] != PAYLOAD_SCHEMA_VERSION:
        raise ValueError(
            f"unsupported synthetic schema_version {payload['schema_version']!r}, "
            f"expected {PAYLOAD_SCHEMA_VERSION}"
        )
    bars = payload["bars"]
    if not isinstance(bars, dict):
        raise ValueError("synthetic payload 'bars' must be a JSON object")
    missing = [key for key in PAYLOAD_ARRAYS if key not in bars]
    if missing:
        raise ValueError(f"synthetic payload 'bars' is missing arrays {missing}")
    lengths = {key: len(bars[key]) for key in PAYLOAD_ARRAYS if isinstance(bars[key], list)}
    if len(lengths) < len(PAYLOAD_ARRAYS):
        raise ValueError("every synthetic bar array must be a JSON list")
    if len(set(lengths.values())) > 1:
        raise ValueError(f"synthetic bar arrays have unequal lengths {lengths}")
    columns = {}
    for key, column in PAYLOAD_ARRAYS.items():
        integers = key == "t"
        values = np.asarray(bars[key])
        allowed_kinds = "i" if integers else "if"
        if values.size and values.dtype.kind not in allowed_kinds:
            kind = "integer epoch milliseconds" if integers else "numbers"
            raise ValueError(f"synthetic bar array {key!r} must hold {kind}")
        columns[column] = values.astype(np.int64 if integers else np.float64)
    ts = pd.to_datetime(columns["ts"], unit="ms", utc=True).as_unit("us")
    return _bars_frame(ts, [columns[name] for name in BAR_COLUMNS[1:]])
