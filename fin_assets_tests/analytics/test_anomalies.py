"""Tests of the anomaly detectors, on hand-built series with known flags and a loop reference."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from fin_assets.analytics.anomalies import (
    ANOMALY_KINDS,
    calendar_gaps,
    detect_anomalies,
    return_outliers,
    stale_prices,
    volume_spikes,
)
from fin_assets.analytics.quality import check_schema
from fin_assets.analytics.schemas import ANOMALIES, DAILY_BARS

START = date(2025, 1, 1)
NAN = float("nan")
MAD_SCALE = 1.4826


def _bars(
    symbol: str,
    closes: list[float],
    volumes: list[float] | None = None,
    dates: list[date] | None = None,
) -> pd.DataFrame:
    """DAILY_BARS rows of one symbol, one per calendar day from START unless `dates` given."""
    n = len(closes)
    days = dates if dates is not None else [START + timedelta(days=i) for i in range(n)]
    close = np.asarray(closes, dtype=float)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "trade_date": pd.Series(days, dtype=object),
            "open": close,
            "high": close,
            "low": close,
            "close": close,
            "volume": np.asarray(volumes if volumes is not None else [1000.0] * n, dtype=float),
            "vwap": close,
            "bar_count": np.full(n, 390, dtype="int64"),
        }
    )


def _closes_from_returns(returns: list[float], first: float = 100.0) -> list[float]:
    closes = [first]
    for r in returns:
        closes.append(closes[-1] * (1.0 + r))
    return closes


def _flags(frame: pd.DataFrame) -> list[tuple[str, date, str]]:
    return list(frame[["symbol", "trade_date", "anomaly"]].itertuples(index=False, name=None))


def _day(i: int) -> date:
    return START + timedelta(days=i)


# ---- return_outlier ---------------------------------------------------------------------------


def test_return_outlier_known_median_and_mad() -> None:
    # previous 4 returns 0.01, -0.01, 0.02, 0.00: median 0.005, deviations .005 .015 .015 .005,
    # MAD 0.01; the next return 0.10 has z = (0.10 - 0.005) / (1.4826 * 0.01) = 6.40766...
    closes = _closes_from_returns([0.01, -0.01, 0.02, 0.0, 0.10])
    out = return_outliers(_bars("A", closes), window=4, z_threshold=5.0)
    assert _flags(out) == [("A", _day(5), "return_outlier")]
    assert out["value"].iloc[0] == pytest.approx(0.095 / 0.014826, rel=1e-9)
    assert out["threshold"].iloc[0] == 5.0
    assert "previous 4 returns" in out["detail"].iloc[0]


def test_return_outlier_negative_jump_gives_negative_z() -> None:
    closes = _closes_from_returns([0.01, -0.01, 0.02, 0.0, -0.10])
    out = return_outliers(_bars("A", closes), window=4, z_threshold=5.0)
    assert out["value"].tolist() == pytest.approx([-0.105 / 0.014826], rel=1e-9)


def test_return_outlier_threshold_is_strict() -> None:
    closes = _closes_from_returns([0.01, -0.01, 0.02, 0.0, 0.10])
    z = 0.095 / 0.014826
    assert len(return_outliers(_bars("A", closes), window=4, z_threshold=z + 1e-6)) == 0
    assert len(return_outliers(_bars("A", closes), window=4, z_threshold=z - 1e-6)) == 1


def test_return_outlier_alternating_series_one_jump() -> None:
    # 60 returns alternating +-1%: median 0, MAD 0.01; a +10% jump has z = 0.1 / 0.014826.
    returns = [0.01 if i % 2 == 0 else -0.01 for i in range(60)] + [0.10]
    returns += [0.01 if i % 2 == 0 else -0.01 for i in range(20)]
    out = return_outliers(_bars("A", _closes_from_returns(returns)), window=60)
    assert _flags(out) == [("A", _day(61), "return_outlier")]
    assert out["value"].iloc[0] == pytest.approx(0.1 / 0.014826, rel=1e-6)


def test_return_outlier_needs_a_full_window() -> None:
    jump = [0.01, -0.01, 0.02, 0.0, 0.10]
    # 6 rows: 5 returns, the jump has 4 previous returns -> flagged.
    assert len(return_outliers(_bars("A", _closes_from_returns(jump)), window=4)) == 1
    # 5 rows: the jump has only 3 previous returns -> nothing.
    short = _closes_from_returns(jump[1:])
    assert len(return_outliers(_bars("A", short), window=4)) == 0
    # 60 rows and window 60: never a full window.
    returns = [0.01, -0.01] * 29 + [0.5]
    assert len(return_outliers(_bars("A", _closes_from_returns(returns)), window=60)) == 0


def test_return_outlier_mad_zero_is_not_flagged() -> None:
    closes = [100.0] * 10 + [150.0]
    assert len(return_outliers(_bars("A", closes), window=5)) == 0
    # three of four previous returns equal: MAD 0 as well.
    closes = _closes_from_returns([0.0, 0.0, 0.01, 0.0, 0.5])
    assert len(return_outliers(_bars("A", closes), window=4)) == 0


def test_return_outlier_nan_close_blocks_windows_containing_it() -> None:
    base = [0.01, -0.01, 0.02, 0.0]
    closes = _closes_from_returns([*base, 0.10, *base, 0.10])
    closes[6] = NAN  # returns at rows 6 and 7 are NaN
    out = return_outliers(_bars("A", closes), window=4)
    # row 5 (window rows 1..4) is flagged; row 10 has the NaN returns of rows 6, 7 in its
    # window (rows 6..9) -> not flagged.
    assert _flags(out) == [("A", _day(5), "return_outlier")]


# ---- volume_spike -----------------------------------------------------------------------------


def test_volume_spike_known_ratio() -> None:
    volumes = [100.0, 200.0, 300.0, 1200.0, 250.0]
    out = volume_spikes(_bars("A", [10.0] * 5, volumes), window=3, volume_threshold=5.0)
    # row 3: median(100, 200, 300) = 200, ratio 6; row 4: median(200, 300, 1200) = 300.
    assert _flags(out) == [("A", _day(3), "volume_spike")]
    assert out["value"].tolist() == [6.0]
    assert out["threshold"].tolist() == [5.0]


def test_volume_spike_threshold_is_strict_and_needs_full_window() -> None:
    volumes = [100.0, 200.0, 300.0, 1000.0]  # ratio exactly 5
    assert len(volume_spikes(_bars("A", [10.0] * 4, volumes), window=3)) == 0
    # the spike at row 2 has only 2 previous rows.
    assert len(volume_spikes(_bars("A", [10.0] * 3, [100.0, 100.0, 9999.0]), window=3)) == 0


def test_volume_spike_zero_median_and_nan() -> None:
    zero = volume_spikes(_bars("A", [10.0] * 4, [0.0, 0.0, 5.0, 100.0]), window=3)
    assert len(zero) == 0
    with_nan = [100.0, NAN, 100.0, 100.0, 900.0, 900.0]
    out = volume_spikes(_bars("A", [10.0] * 6, with_nan), window=2)
    # row 4: window rows 2, 3 -> median 100, ratio 9; row 5: rows 3, 4 -> median 500.
    # rows 2, 3 have the NaN of row 1 in their window.
    assert _flags(out) == [("A", _day(4), "volume_spike")]
    assert out["value"].tolist() == [9.0]


# ---- stale_price ------------------------------------------------------------------------------


def test_stale_price_runs() -> None:
    closes = [1.0, 2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 2.0, 2.0]
    out = stale_prices(_bars("A", closes), stale_run=3)
    assert _flags(out) == [
        ("A", _day(3), "stale_price"),
        ("A", _day(4), "stale_price"),
        ("A", _day(7), "stale_price"),
    ]
    assert out["value"].tolist() == [3.0, 4.0, 3.0]
    assert out["threshold"].tolist() == [3.0, 3.0, 3.0]


def test_stale_price_nan_breaks_runs_and_stale_run_two() -> None:
    closes = [5.0, 5.0, NAN, NAN, 5.0, 5.0, 5.0]
    out = stale_prices(_bars("A", closes), stale_run=2)
    assert _flags(out) == [
        ("A", _day(1), "stale_price"),
        ("A", _day(5), "stale_price"),
        ("A", _day(6), "stale_price"),
    ]
    assert out["value"].tolist() == [2.0, 2.0, 3.0]


def test_stale_price_does_not_run_across_symbols() -> None:
    bars = pd.concat([_bars("A", [1.0, 7.0, 7.0]), _bars("B", [7.0, 7.0, 8.0])])
    assert len(stale_prices(bars, stale_run=3)) == 0


# ---- calendar_gap -----------------------------------------------------------------------------

JULY_SESSIONS = [date(2025, 7, d) for d in (1, 2, 3, 7, 8, 9)]  # 4th: holiday; 5th, 6th: weekend


def test_calendar_gap_holiday_is_not_a_gap() -> None:
    bars = _bars("SPY", [1.0] * 6, dates=JULY_SESSIONS)
    assert len(calendar_gaps(bars, {"SPY": "XNYS"})) == 0


def test_calendar_gap_missing_session() -> None:
    dates = [day for day in JULY_SESSIONS if day != date(2025, 7, 7)]
    out = calendar_gaps(_bars("SPY", [1.0] * 5, dates=dates), {"SPY": "XNYS"})
    assert _flags(out) == [("SPY", date(2025, 7, 7), "calendar_gap")]
    assert math.isnan(out["value"].iloc[0]) and math.isnan(out["threshold"].iloc[0])
    assert out["detail"].iloc[0] == "no bar on XNYS session 2025-07-07"


def test_calendar_gap_only_between_first_and_last_row() -> None:
    bars = _bars("SPY", [1.0] * 3, dates=[date(2025, 7, 2), date(2025, 7, 3), date(2025, 7, 7)])
    assert len(calendar_gaps(bars, {"SPY": "XNYS"})) == 0


def test_calendar_gap_24_7_and_per_symbol_calendar() -> None:
    crypto_days = [date(2025, 7, 4), date(2025, 7, 5), date(2025, 7, 7)]
    bars = pd.concat(
        [
            _bars("SPY", [1.0] * 3, dates=[date(2025, 7, 3), date(2025, 7, 7), date(2025, 7, 8)]),
            _bars("BTC", [1.0] * 3, dates=crypto_days),
        ]
    )
    out = calendar_gaps(bars, {"SPY": "XNYS", "BTC": "24/7"})
    assert _flags(out) == [("BTC", date(2025, 7, 6), "calendar_gap")]


def test_calendar_gap_bad_calendars() -> None:
    bars = _bars("SPY", [1.0] * 6, dates=JULY_SESSIONS)
    with pytest.raises(ValueError, match=r"no calendar for symbols \['SPY'\]"):
        calendar_gaps(bars, {"QQQ": "XNYS"})
    with pytest.raises(ValueError, match="unknown calendar"):
        calendar_gaps(bars, {"SPY": "NOPE"})


# ---- detect_anomalies -------------------------------------------------------------------------


def _reference(bars: pd.DataFrame, window: int, z: float, vol: float, run: int) -> list[tuple]:
    """Loop implementation of return_outlier, volume_spike and stale_price, symbol by symbol."""
    found = []
    for symbol, group in bars.groupby("symbol"):
        rows = group.sort_values("trade_date")
        days, closes = rows["trade_date"].tolist(), rows["close"].tolist()
        volumes = rows["volume"].tolist()
        returns = [NAN] + [closes[i] / closes[i - 1] - 1.0 for i in range(1, len(closes))]
        length = 1
        for t in range(len(rows)):
            if t >= window:
                prev = returns[t - window : t]
                if not any(math.isnan(r) for r in prev):
                    med = statistics.median(prev)
                    mad = statistics.median(abs(r - med) for r in prev)
                    score = (returns[t] - med) / (MAD_SCALE * mad) if mad > 0 else NAN
                    if abs(score) > z:
                        found.append((symbol, days[t], "return_outlier", score))
                med_volume = statistics.median(volumes[t - window : t])
                if med_volume > 0 and volumes[t] / med_volume > vol:
                    found.append((symbol, days[t], "volume_spike", volumes[t] / med_volume))
            length = length + 1 if t > 0 and closes[t] == closes[t - 1] else 1
            if length >= run:
                found.append((symbol, days[t], "stale_price", float(length)))
    return sorted(found, key=lambda row: row[:3])


def _random_bars(symbols: int, rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(symbols):
        returns = rng.standard_t(3, rows - 1) * 0.01
        returns[rng.random(rows - 1) < 0.05] = 0.0  # some stale runs
        volumes = rng.lognormal(10.0, 0.6, rows)
        volumes[rng.integers(0, rows, 5)] *= 20.0  # some spikes
        frames.append(_bars(f"S{i}", _closes_from_returns(list(returns)), list(volumes)))
    return pd.concat(frames, ignore_index=True)


def test_detect_anomalies_matches_loop_reference_any_row_order() -> None:
    bars = _random_bars(symbols=4, rows=300, seed=7)
    shuffled = bars.sample(frac=1.0, random_state=3)
    calendars = dict.fromkeys(bars["symbol"].unique(), "24/7")
    out = detect_anomalies(shuffled, calendars, window=30, z_threshold=4.0, stale_run=2)
    expected = _reference(bars, window=30, z=4.0, vol=5.0, run=2)
    assert {kind for *_, kind, _ in expected} == {"return_outlier", "volume_spike", "stale_price"}
    assert _flags(out) == [row[:3] for row in expected]
    assert out["value"].to_numpy() == pytest.approx([row[3] for row in expected], rel=1e-9)
    assert check_schema(out, ANOMALIES).passed


def test_detect_anomalies_all_kinds_sorted() -> None:
    sessions = [date(2025, 7, d) for d in (1, 2, 3, 7, 8, 9, 10, 11, 14)]
    closes = _closes_from_returns([0.01, -0.01, 0.02, 0.0, 0.10, 0.0, 0.0, -0.02])
    volumes = [100.0, 200.0, 300.0, 200.0, 100.0, 1500.0, 100.0, 100.0, 100.0]
    dates = [day for day in sessions if day != date(2025, 7, 7)]
    bars = _bars("SPY", closes[:8], volumes[:8], dates=dates)
    out = detect_anomalies(bars, {"SPY": "XNYS"}, window=4, stale_run=3)
    assert _flags(out) == [
        ("SPY", date(2025, 7, 7), "calendar_gap"),
        ("SPY", date(2025, 7, 10), "return_outlier"),
        ("SPY", date(2025, 7, 10), "volume_spike"),
        ("SPY", date(2025, 7, 14), "stale_price"),
    ]
    assert out["value"].iloc[2] == pytest.approx(1500.0 / 200.0)  # median of 200 300 200 100
    assert list(out.columns) == ANOMALIES.names
    assert set(out["anomaly"]) <= set(ANOMALY_KINDS)


def test_detect_anomalies_over_all_symbols_equals_one_symbol_at_a_time() -> None:
    """The anomalies asset scans every symbol's history in one call: the same frame as
    scanning each symbol alone and concatenating the results."""
    bars = _random_bars(symbols=3, rows=120, seed=11).iloc[lambda frame: frame.index % 17 != 5]
    calendars = {"S0": "XNYS", "S1": "24/7", "S2": "XNYS"}
    one_at_a_time = pd.concat(
        [
            detect_anomalies(group.reset_index(drop=True), calendars, window=20, stale_run=2)
            for _, group in bars.groupby("symbol", sort=True)
        ],
        ignore_index=True,
    )
    together = detect_anomalies(bars, calendars, window=20, stale_run=2)
    assert set(together["anomaly"]) == set(ANOMALY_KINDS)
    pd.testing.assert_frame_equal(together, one_at_a_time)


def test_detect_anomalies_symbols_are_isolated() -> None:
    # B alone has too short a history for window 4; A's rows must not fill B's window.
    a = _bars("A", _closes_from_returns([0.01, -0.01, 0.02, 0.0, 0.01, -0.01]))
    b = _bars("B", _closes_from_returns([0.01, -0.01, 0.5]), [100.0, 100.0, 100.0, 9000.0])
    bars = pd.concat([a, b]).sample(frac=1.0, random_state=0)
    out = detect_anomalies(bars, {"A": "24/7", "B": "24/7"}, window=4)
    assert len(out) == 0


def test_detect_anomalies_empty_input() -> None:
    out = detect_anomalies(DAILY_BARS.empty_table().to_pandas(), {})
    assert list(out.columns) == ANOMALIES.names
    assert len(out) == 0
    assert check_schema(out, ANOMALIES).passed


def test_detect_anomalies_accepts_datetime64_trade_dates() -> None:
    dates = [day for day in JULY_SESSIONS if day != date(2025, 7, 7)]
    bars = _bars("SPY", [1.0, 2.0, 3.0, 4.0, 5.0], dates=dates)
    bars["trade_date"] = pd.to_datetime(bars["trade_date"])
    out = detect_anomalies(bars, {"SPY": "XNYS"})
    assert _flags(out) == [("SPY", date(2025, 7, 7), "calendar_gap")]


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (lambda b: b.drop(columns="close"), {}, r"missing columns \['close'\]"),
        (lambda b: b.assign(volume="x"), {}, "'volume' must be numeric"),
        (lambda b: pd.concat([b, b.head(1)]), {}, r"duplicate trade_date rows for .*\['A'\]"),
        (lambda b: b.assign(symbol=None), {}, "null symbols"),
        (lambda b: b.assign(trade_date=pd.NaT), {}, "null trade_date"),
        (
            lambda b: b.assign(trade_date=pd.Timestamp("2025-01-01 10:00")),
            {},
            "time of day",
        ),
        (lambda b: b, {"window": 0}, "window must be at least 1"),
        (lambda b: b, {"z_threshold": NAN}, "z_threshold must be a finite positive"),
        (lambda b: b, {"volume_threshold": -1.0}, "volume_threshold must be a finite positive"),
        (lambda b: b, {"stale_run": 1}, "stale_run must be at least 2"),
    ],
)
def test_bad_input_raises(
    change: Callable[[pd.DataFrame], pd.DataFrame], kwargs: dict[str, float], message: str
) -> None:
    bars = change(_bars("A", [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=message):
        detect_anomalies(bars, {"A": "24/7"}, **kwargs)
