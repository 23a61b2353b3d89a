"""Yahoo chart and CoinGecko parsers on real recorded bodies."""

import math
from datetime import date

import pandas as pd
import pytest

from fin_assets.resources.vendors import coingecko, yahoo
from fin_assets.resources.vendors.errors import VendorBadRequest, VendorPayloadInvalid
from fin_assets_tests.resources.vendors.conftest import fixture_bytes


def test_yahoo_daily_keeps_the_four_for_one_split_and_the_dividend() -> None:
    daily = yahoo.parse_chart_daily(
        fixture_bytes("yahoo/chart_v8_AAPL_1d_2020-08-31_2020-11-07_splits_dividends_body.json")
    )
    assert len(daily) == 49
    # Timestamps are 09:30 New York session opens: trade dates are New York dates.
    assert daily["trade_date"].iloc[0] == date(2020, 8, 31)
    assert daily["trade_date"].iloc[-1] == date(2020, 11, 6)
    split = daily[daily["split_coefficient"] != 1.0]
    assert split["trade_date"].tolist() == [date(2020, 8, 31)]
    assert split["split_coefficient"].tolist() == [4.0]
    paid = daily[daily["dividend_amount"] > 0]
    assert paid["trade_date"].tolist() == [date(2020, 11, 6)]
    assert paid["dividend_amount"].tolist() == [0.205]
    first = daily.iloc[0]
    assert first["open"] == 127.58000183105469 and first["close"] == 129.0399932861328
    # auto_adjust=False: close is as traded; adjusted_close is Yahoo's adjclose.
    assert first["adjusted_close"] == 125.82673645019531


def test_yahoo_daily_dividends_over_a_year() -> None:
    daily = yahoo.parse_chart_daily(
        fixture_bytes("yahoo/chart_v8_MSFT_1d_2021-02_2022-01_dividends_body.json")
    )
    assert len(daily) == 252
    paid = daily[daily["dividend_amount"] > 0]
    assert paid["trade_date"].tolist() == [
        date(2021, 2, 17),
        date(2021, 5, 19),
        date(2021, 8, 18),
        date(2021, 11, 17),
    ]
    assert paid["dividend_amount"].tolist() == [0.56, 0.56, 0.56, 0.62]


@pytest.mark.parametrize(
    ("name", "first_date", "rows"),
    [
        ("chart_v8_BTC-USD_1d_body.json", date(2020, 1, 1), 3),  # UTC midnight bars
        ("chart_v8_EURUSD=X_1d_body.json", date(2020, 1, 1), 3),  # Europe/London
        ("chart_v8_WSU.DE_1d_body.json", date(2023, 8, 4), 3),  # Europe/Berlin
        ("chart_v8_AAPL_1d_2020-01-01_2020-01-03_body.json", date(2020, 1, 2), 1),
    ],
)
def test_yahoo_daily_dates_in_the_exchange_zone(name: str, first_date: date, rows: int) -> None:
    daily = yahoo.parse_chart_daily(fixture_bytes(f"yahoo/{name}"))
    assert daily["trade_date"].iloc[0] == first_date
    assert len(daily) == rows


def test_yahoo_weekly_drops_the_trailing_live_bar() -> None:
    # The recording repository's own test: 28 raw bars, closes 7650.5 and 7743.41015625 at
    # positions 25 and 26; the 28th is the live quote (regularMarketTime) inside the last week.
    weekly = yahoo.parse_chart_daily(fixture_bytes("yahoo/chart_v8_GSPC_1wk_6mo_raw.json"))
    assert len(weekly) == 27
    assert weekly["close"].iloc[25] == 7650.5
    assert weekly["close"].iloc[26] == 7743.41015625
    assert weekly["trade_date"].iloc[-1] == date(2026, 9, 21)
    nikkei = yahoo.parse_chart_daily(fixture_bytes("yahoo/chart_v8_N225_1wk_6mo_raw.json"))
    assert nikkei["trade_date"].iloc[0] == date(2026, 3, 23)  # a Monday in Tokyo


def test_yahoo_empty_range_is_zero_bars_not_an_error() -> None:
    bars = yahoo.parse_chart_intraday(
        fixture_bytes("yahoo/chart_v8_AAPL_1m_weekend_empty_body.json")
    )
    assert bars.empty
    assert list(bars.columns) == ["ts", "open", "high", "low", "close", "volume"]


def test_yahoo_daily_body_is_not_intraday() -> None:
    with pytest.raises(VendorPayloadInvalid, match="not intraday"):
        yahoo.parse_chart_intraday(fixture_bytes("yahoo/chart_v8_BTC-USD_1d_body.json"))


def test_yahoo_not_found_body_is_described() -> None:
    body = fixture_bytes("yahoo/quoteSummary_v10_404_not_found_body.json")
    assert yahoo.describe_error(body) == (
        "Not Found: No fundamentals data found for any of the summaryTypes=assetProfile"
    )
    with pytest.raises(VendorBadRequest):
        yahoo.check_body(body)


def test_coingecko_market_chart() -> None:
    chart = coingecko.parse_market_chart(
        fixture_bytes("coingecko/coins_id_market_chart_pretty.json")
    )
    assert len(chart) == 289
    assert chart["ts"].iloc[0] == pd.Timestamp("2023-03-14 23:21:09.765", tz="UTC")
    assert chart["price"].iloc[0] == 1.1917424918923705
    assert chart["ts"].iloc[-1] == pd.Timestamp("2023-03-15 23:20:08", tz="UTC")
    assert chart["total_volume"].iloc[-1] == 915666801.3627945


def test_coingecko_market_chart_as_bars() -> None:
    bars = coingecko.market_chart_bars(fixture_bytes("coingecko/coins_id_market_chart_pretty.json"))
    assert len(bars) == 289
    assert bars["ts"].iloc[0] == pd.Timestamp("2023-03-14 23:21", tz="UTC")
    first = bars.iloc[0]
    assert first["open"] == first["high"] == first["low"] == first["close"] == 1.1917424918923705
    assert (bars["volume"] == 0.0).all()
    assert (bars["ts"].dt.date == date(2023, 3, 15)).sum() == 280


def test_coingecko_total_volumes_are_no_per_bar_volume() -> None:
    # Why chart bars carry volume 0 (flagged, see coingecko's docstring): differences of the
    # rolling 24-hour total_volumes are no per-interval volume, most of them are negative.
    chart = coingecko.parse_market_chart(
        fixture_bytes("coingecko/coins_id_market_chart_pretty.json")
    )
    steps = chart["total_volume"].diff().dropna()
    assert (len(steps), int((steps < 0).sum())) == (288, 160)
    assert round(steps.min() / 1e6, 1) == -77.7


def test_coingecko_markets_with_nulls() -> None:
    markets = coingecko.parse_markets(fixture_bytes("coingecko/coins_markets_usd_250_pretty.json"))
    assert len(markets) == 250
    bitcoin = markets.iloc[0]
    assert (bitcoin["id"], bitcoin["current_price"], bitcoin["total_volume"]) == (
        "bitcoin",
        29309.0,
        7555609615.0,
    )
    assert bitcoin["last_updated"] == pd.Timestamp("2023-07-28 20:03:29.093", tz="UTC")
    assert markets["high_24h"].isna().sum() == 1
    assert math.isnan(markets.set_index("id").loc["gains-farm", "high_24h"])
    jpy = coingecko.parse_markets(
        fixture_bytes("coingecko/coins_markets_jpy_5coins_2026_pretty.json")
    )
    assert jpy.set_index("id").loc["bitcoin", "current_price"] == 13_289_426


def test_coingecko_ohlc_candles_are_stamped_at_their_close() -> None:
    # The documented example candle of CoinGecko's OpenAPI spec (no recorded body exists, see
    # PROVENANCE.md "Gaps"): [1709395200000, 61942, 62211, 61721, 61845], a 30-minute candle.
    candles = coingecko.parse_ohlc(b"[[1709395200000, 61942, 62211, 61721, 61845]]", 30)
    assert candles.iloc[0].tolist() == [
        pd.Timestamp("2024-03-02 15:30", tz="UTC"),
        61942.0,
        62211.0,
        61721.0,
        61845.0,
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "error_429_rate_limit_body.json",
            "error 429: You've exceeded the Rate Limit. Please visit "
            "https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher "
            "rate limits.",
        ),
        (
            "error_401_10012_time_range_exceeded_body.json",
            "error 10012: Your request exceeds the allowed time range. Public API users are "
            "limited to querying historical data within the past 365 days. Upgrade to a paid "
            "plan to enjoy full historical data access: https://www.coingecko.com/en/api/pricing.",
        ),
    ],
)
def test_coingecko_error_envelopes(name: str, expected: str) -> None:
    assert coingecko.describe_error(fixture_bytes(f"coingecko/{name}")) == expected
