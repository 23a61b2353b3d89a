"""Tests of the synthetic market: determinism, continuity, consistency, realism, wire format."""

from __future__ import annotations

import json
import zlib
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from fin_assets.analytics import simulator
from fin_assets.analytics.market_calendar import session_minutes
from fin_assets.universe import Symbol, load_universe

SEED = 7
UNIVERSE = {symbol.symbol: symbol for symbol in load_universe()}
HISTORY = [date(2024, 1, 1) + timedelta(days=i) for i in range(731)]  # 2024-01-01..2025-12-31
HISTORY_SYMBOLS = ("AAPL", "SPY", "BTC")


def unknown_equity(ticker: str) -> Symbol:
    return Symbol(
        symbol=ticker,
        name=ticker,
        asset_class="equity",
        exchange="XNYS",
        calendar="XNYS",
        currency="USD",
        timezone="America/New_York",
        sector="Unknown",
        vendor_ids={},
    )


@pytest.fixture(scope="module")
def history() -> dict[str, pd.DataFrame]:
    """Two years of bars per symbol, one frame each, with a `day` column."""
    return {
        ticker: pd.concat(
            [
                simulator.simulate_intraday(SEED, UNIVERSE[ticker], day).assign(day=day)
                for day in HISTORY
            ],
            ignore_index=True,
        )
        for ticker in HISTORY_SYMBOLS
    }


def session_summary(bars: pd.DataFrame) -> pd.DataFrame:
    """First open and last close of each day of a `history` frame."""
    grouped = bars.groupby("day", sort=True)
    return pd.DataFrame({"open": grouped["open"].first(), "close": grouped["close"].last()})


def test_order_of_simulation_does_not_matter() -> None:
    aapl, btc = UNIVERSE["AAPL"], UNIVERSE["BTC"]
    day_a, day_b = date(2025, 3, 10), date(2031, 6, 17)
    simulator._daily_path.cache_clear()
    forward = [simulator.simulate_intraday(SEED, s, d) for s in (aapl, btc) for d in (day_a, day_b)]
    simulator._daily_path.cache_clear()
    backward = [
        simulator.simulate_intraday(SEED, s, d) for s in (btc, aapl) for d in (day_b, day_a)
    ]
    for got, expected in zip(forward, reversed(backward), strict=True):
        pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_seed_and_symbol_change_the_market() -> None:
    day = date(2025, 3, 10)
    first = simulator.simulate_intraday(SEED, UNIVERSE["AAPL"], day)
    assert not first["close"].equals(
        simulator.simulate_intraday(SEED + 1, UNIVERSE["AAPL"], day)["close"]
    )
    assert not first["volume"].equals(
        simulator.simulate_intraday(SEED, UNIVERSE["MSFT"], day)["volume"]
    )


def test_timestamps_are_the_session_minutes() -> None:
    for ticker, day in [("AAPL", date(2025, 11, 28)), ("ETH", date(2025, 3, 9))]:
        bars = simulator.simulate_intraday(SEED, UNIVERSE[ticker], day)
        expected = session_minutes(UNIVERSE[ticker].calendar, day)
        assert list(bars.columns) == ["ts", "open", "high", "low", "close", "volume"]
        pd.testing.assert_index_equal(pd.DatetimeIndex(bars["ts"]), expected, check_names=False)
        assert (bars.dtypes.iloc[1:] == np.float64).all()


def test_weekend_has_zero_rows_for_an_equity() -> None:
    bars = simulator.simulate_intraday(SEED, UNIVERSE["AAPL"], date(2025, 3, 8))
    assert len(bars) == 0
    assert list(bars.columns) == ["ts", "open", "high", "low", "close", "volume"]
    assert str(bars["ts"].dtype) == "datetime64[us, UTC]"


def test_crypto_opens_exactly_at_the_previous_close(history: dict[str, pd.DataFrame]) -> None:
    for ticker in ("BTC",):
        summary = session_summary(history[ticker])
        assert len(summary) == 731
        assert (summary["open"].iloc[1:].to_numpy() == summary["close"].iloc[:-1].to_numpy()).all()


def test_equities_open_near_the_previous_session_close(history: dict[str, pd.DataFrame]) -> None:
    for ticker in ("AAPL", "SPY"):
        summary = session_summary(history[ticker])
        assert len(summary) == 502  # NYSE sessions: 252 in 2024, 250 in 2025
        gaps = summary["open"].iloc[1:].to_numpy() / summary["close"].iloc[:-1].to_numpy() - 1
        assert np.abs(gaps).max() < 0.08
        assert (gaps != 0).mean() > 0.9  # a gap almost every session


def test_bars_are_consistent_positive_and_rounded(history: dict[str, pd.DataFrame]) -> None:
    for ticker, bars in history.items():
        open_, high, low, close, volume = (bars[c].to_numpy() for c in simulator.BAR_COLUMNS[1:])
        assert (low > 0).all()
        assert (high >= np.maximum(open_, close)).all()
        assert (low <= np.minimum(open_, close)).all()
        assert (volume > 0).all()
        decimals = 4 if UNIVERSE[ticker].is_crypto else 2
        scaled = np.concatenate([open_, high, low, close]) * 10**decimals
        assert np.allclose(scaled, np.round(scaled), rtol=0, atol=1e-6)
        # Within a session each bar opens at the previous bar's close.
        same_day = bars["day"].eq(bars["day"].shift()).to_numpy()
        assert (open_[1:][same_day[1:]] == close[:-1][same_day[1:]]).all()


@pytest.mark.parametrize(
    ("ticker", "periods", "low", "high"),
    [
        ("SPY", 252, 0.08, 0.25),
        ("AAPL", 252, 0.18, 0.50),
        ("BTC", 365, 0.40, 1.10),
    ],
)
def test_annualized_volatility_is_realistic(
    history: dict[str, pd.DataFrame], ticker: str, periods: int, low: float, high: float
) -> None:
    closes = session_summary(history[ticker])["close"].to_numpy()
    log_returns = np.log(closes[1:] / closes[:-1])
    assert low < log_returns.std(ddof=1) * np.sqrt(periods) < high


def test_reference_prices_are_hit_on_the_reference_date() -> None:
    assert date(2024, 12, 31) == simulator.REFERENCE_DATE
    cases = [
        (UNIVERSE["AAPL"], 250.0),
        (UNIVERSE["BTC"], 93_000.0),
        (unknown_equity("ZZZZ"), round(10 + (zlib.crc32(b"ZZZZ") % 19_000) / 100, 2)),
    ]
    for symbol, expected in cases:
        bars = simulator.simulate_intraday(SEED, symbol, date(2024, 12, 31))
        assert bars["close"].iloc[-1] == expected


def test_equity_volume_is_u_shaped(history: dict[str, pd.DataFrame]) -> None:
    bars = history["AAPL"]
    minute = bars.groupby("day").cumcount()
    full_days = bars.groupby("day")["ts"].transform("size") == 390
    profile = bars[full_days].groupby(minute[full_days])["volume"].mean()
    first, middle, last = profile[:30].mean(), profile[180:210].mean(), profile[360:].mean()
    assert first > 2 * middle
    assert last > 2 * middle


def test_crypto_volume_is_mildly_diurnal(history: dict[str, pd.DataFrame]) -> None:
    bars = history["BTC"]
    hourly = bars.groupby(bars["ts"].dt.hour)["volume"].mean()
    assert hourly.idxmax() in (14, 15, 16)
    assert 1.3 < hourly.max() / hourly.min() < 2.5


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        simulator.simulate_intraday(-1, UNIVERSE["AAPL"], date(2025, 3, 10))
    odd = Symbol(**{**unknown_equity("ODD").__dict__, "asset_class": "bond"})
    with pytest.raises(ValueError, match="no simulation profile for asset class 'bond'"):
        simulator.simulate_intraday(SEED, odd, date(2025, 3, 10))


def test_payload_is_compact_columnar_json() -> None:
    symbol, day = UNIVERSE["AAPL"], date(2025, 3, 10)
    bars = simulator.simulate_intraday(SEED, symbol, day)
    content = simulator.encode_payload(SEED, symbol, day, bars)
    assert b" " not in content
    payload = json.loads(content)
    assert {key: payload[key] for key in payload if key != "bars"} == {
        "source": "synthetic",
        "schema_version": 1,
        "symbol": "AAPL",
        "trade_date": "2025-03-10",
        "seed": SEED,
        "timezone": "America/New_York",
    }
    assert payload["bars"]["t"][:2] == [1741613400000, 1741613460000]  # 13:30Z, 13:31Z
    assert payload["bars"]["o"][0] == bars["open"].iloc[0]
    assert [len(payload["bars"][key]) for key in "tohlcv"] == [390] * 6


def test_payload_round_trip() -> None:
    for ticker, day in [("AAPL", date(2025, 3, 10)), ("SOL", date(2025, 3, 9))]:
        bars = simulator.simulate_intraday(SEED, UNIVERSE[ticker], day)
        content = simulator.encode_payload(SEED, UNIVERSE[ticker], day, bars)
        pd.testing.assert_frame_equal(simulator.decode_payload(content), bars, check_exact=True)


def valid_payload() -> dict:
    return {
        "source": "synthetic",
        "schema_version": 1,
        "symbol": "AAPL",
        "trade_date": "2025-03-10",
        "seed": 1,
        "timezone": "America/New_York",
        "bars": {"t": [1741613400000], "o": [1.0], "h": [2], "l": [0.5], "c": [1.5], "v": [10]},
    }


def test_decode_small_payload() -> None:
    bars = simulator.decode_payload(json.dumps(valid_payload()).encode())
    expected = pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(["2025-03-10 13:30"], tz="UTC").as_unit("us"),
            "open": [1.0],
            "high": [2.0],
            "low": [0.5],
            "close": [1.5],
            "volume": [10.0],
        }
    )
    pd.testing.assert_frame_equal(bars, expected)


def broken(path: tuple[str, ...], value: object) -> bytes:
    payload = valid_payload()
    target = payload
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid UTF-8 JSON"),
        (b"\xff\xfe", "not valid UTF-8 JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (broken(("seed",), KeyError), r"missing keys \['seed'\]"),
        (broken(("schema_version",), 2), "unsupported synthetic schema_version 2"),
        (broken(("source",), "acme"), "payload source is 'acme'"),
        (broken(("bars",), [1]), "'bars' must be a JSON object"),
        (broken(("bars", "v"), KeyError), r"missing arrays \['v'\]"),
        (broken(("bars", "c"), 1.5), "must be a JSON list"),
        (broken(("bars", "c"), [1.5, 1.6]), "unequal lengths"),
        (broken(("bars", "t"), [1741613400000.5]), "'t' must hold integer epoch milliseconds"),
        (broken(("bars", "o"), ["1.0"]), "'o' must hold numbers"),
    ],
)
def test_malformed_payloads_raise(content: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simulator.decode_payload(content)
