"""Alpha Vantage parsers on real recorded bodies: values, bar labels and time zones."""

from datetime import date

import pandas as pd
import pytest

from fin_assets.resources.vendors import alphavantage
from fin_assets.resources.vendors.errors import (
    VendorBadRequest,
    VendorPayloadInvalid,
    VendorQuotaExceeded,
)
from fin_assets_tests.resources.vendors.conftest import fixture_bytes

UTC_TS = "datetime64[us, UTC]"


def test_intraday_json_2018_end_labels_in_eastern_daylight_time() -> None:
    # 2018 bodies label bars by their END: 14:21..16:00 EDT are the bars opening 14:20..15:59.
    bars = alphavantage.parse_intraday_json(
        fixture_bytes("alphavantage/time_series_intraday_1min_MSFT_2018-06-01.json"), label="end"
    )
    assert len(bars) == 100
    assert str(bars["ts"].dtype) == UTC_TS
    assert bars["ts"].iloc[0] == pd.Timestamp("2018-06-01 18:20", tz="UTC")  # 14:20 EDT
    assert bars["ts"].iloc[-1] == pd.Timestamp("2018-06-01 19:59", tz="UTC")  # 15:59 EDT
    last = bars.iloc[-1]
    assert (last["open"], last["high"], last["low"], last["close"], last["volume"]) == (
        100.615,
        100.81,
        100.59,
        100.79,
        4_129_781.0,
    )
    assert bars.iloc[0]["open"] == 100.3975 and bars.iloc[0]["volume"] == 67_726.0


def test_intraday_json_winter_body_is_five_hours_behind_utc() -> None:
    bars = alphavantage.parse_intraday_json(
        fixture_bytes("alphavantage/time_series_intraday_1min_MSFT.json"), label="end"
    )
    # "2017-12-18 13:17:00" US/Eastern (EST, UTC-5), end label: opens 13:16 EST = 18:16 UTC.
    assert bars["ts"].iloc[0] == pd.Timestamp("2017-12-18 18:16", tz="UTC")
    assert bars.iloc[0]["open"] == 86.8101 and bars.iloc[0]["volume"] == 31_172.0
    assert bars["ts"].iloc[-1] == pd.Timestamp("2017-12-18 19:55", tz="UTC")


def test_intraday_json_full_month_of_five_minute_bars() -> None:
    bars = alphavantage.parse_intraday_json(
        fixture_bytes("alphavantage/time_series_intraday_5min_IBM_full_2020-07-10.json"),
        label="end",
    )
    assert len(bars) == 1174
    assert bars["ts"].is_monotonic_increasing
    # First "2020-06-25 04:05:00" EDT closes the 04:00 bar: 08:00 UTC.
    assert bars["ts"].iloc[0] == pd.Timestamp("2020-06-25 08:00", tz="UTC")
    assert bars["ts"].iloc[-1] == pd.Timestamp("2020-07-10 22:15", tz="UTC")
    assert bars.iloc[-1]["close"] == 118.4 and bars.iloc[-1]["volume"] == 250.0
    # Eleven sessions, no bar on the weekends or on the Independence Day holiday (2020-07-03).
    sessions = sorted(set(bars["ts"].dt.tz_convert("America/New_York").dt.date))
    assert len(sessions) == 11 and date(2020, 7, 3) not in sessions


def test_intraday_csv_2026_start_labels() -> None:
    # Since 2023 bars are labelled by their START: the session's last extended-hours bar is
    # 19:55 and the 16:00 bar holds the closing auction (1,694,021 shares).
    bars = alphavantage.parse_intraday_csv(
        fixture_bytes("alphavantage/csv/time_series_intraday_5min_IBM_demo_2026-05-15.csv"),
        interval="5min",
    )
    assert len(bars) == 100
    assert bars["ts"].iloc[-1] == pd.Timestamp("2026-05-15 23:55", tz="UTC")  # 19:55 EDT
    auction = bars[bars["ts"] == pd.Timestamp("2026-05-15 20:00", tz="UTC")].iloc[0]
    assert (auction["open"], auction["close"], auction["volume"]) == (219.3, 219.1975, 1_694_021)
    first = bars.iloc[0]
    assert first["ts"] == pd.Timestamp("2026-05-15 15:40", tz="UTC")
    assert (first["open"], first["high"], first["low"], first["close"]) == (
        217.98,
        218.42,
        217.96,
        218.14,
    )


def test_abridged_intraday_json_matches_its_two_bars() -> None:
    bars = alphavantage.parse_intraday_json(
        fixture_bytes("alphavantage/time_series_intraday_5min_IBM_abridged.json")
    )
    assert list(bars["ts"]) == [
        pd.Timestamp("2020-05-08 18:00", tz="UTC"),
        pd.Timestamp("2020-05-08 18:05", tz="UTC"),
    ]
    assert bars.iloc[-1]["close"] == 121.74


def test_daily_json_compact() -> None:
    daily = alphavantage.parse_daily_json(
        fixture_bytes("alphavantage/time_series_daily_MSFT_compact_2018.json")
    )
    assert list(daily.columns) == ["trade_date", "open", "high", "low", "close", "volume"]
    assert len(daily) == 100
    assert daily.iloc[0].tolist() == [date(2018, 1, 17), 89.08, 90.28, 88.75, 90.14, 24_659_472]
    assert daily.iloc[-1]["trade_date"] == date(2018, 6, 8)
    assert daily.iloc[-1]["close"] == 101.63


def test_daily_adjusted_json_keeps_dividends() -> None:
    daily = alphavantage.parse_daily_json(
        fixture_bytes("alphavantage/time_series_daily_adjusted_IBM_compact_2025.json")
    )
    assert len(daily) == 100
    paid = daily[daily["dividend_amount"] > 0]
    assert paid["trade_date"].tolist() == [date(2024, 11, 12)]
    assert paid["dividend_amount"].tolist() == [1.67]
    before = daily[daily["trade_date"] == date(2024, 11, 11)].iloc[0]
    assert before["close"] == 213.57
    assert before["adjusted_close"] == pytest.approx(211.891827977227, abs=1e-12)
    assert set(daily["split_coefficient"]) == {1.0}


def test_daily_adjusted_json_with_bom() -> None:
    body = fixture_bytes("alphavantage/time_series_daily_adjusted_MSFT_compact_2018.json")
    assert body.startswith(b"\xef\xbb\xbf")
    daily = alphavantage.parse_daily_json(body)
    paid = daily[daily["dividend_amount"] > 0]
    assert paid["trade_date"].tolist() == [date(2018, 5, 16), date(2018, 8, 15)]
    assert paid["dividend_amount"].tolist() == [0.42, 0.42]
    assert daily.iloc[0]["adjusted_close"] == 90.524  # 2018-03-29, close 91.27


def test_daily_csv_and_adjusted_csv_agree_on_prices() -> None:
    plain = alphavantage.parse_daily_csv(
        fixture_bytes("alphavantage/csv/time_series_daily_IBM_demo_2026-05-15.csv")
    )
    adjusted = alphavantage.parse_daily_csv(
        fixture_bytes("alphavantage/csv/time_series_daily_adjusted_IBM_demo_2026-05-15.csv")
    )
    assert len(plain) == len(adjusted) == 100
    assert plain["trade_date"].iloc[0] == date(2025, 12, 22)
    assert plain["trade_date"].iloc[-1] == date(2026, 5, 15)
    pd.testing.assert_frame_equal(plain, adjusted[list(plain.columns)])
    paid = adjusted[adjusted["dividend_amount"] > 0]
    assert paid["trade_date"].tolist() == [date(2026, 2, 10), date(2026, 5, 8)]
    assert paid["dividend_amount"].tolist() == [1.68, 1.69]
    row = adjusted[adjusted["trade_date"] == date(2025, 12, 22)].iloc[0]
    assert row["adjusted_close"] == 298.85821743109733 and row["volume"] == 2_612_100


def test_abridged_daily_bodies() -> None:
    daily = alphavantage.parse_daily_json(
        fixture_bytes("alphavantage/time_series_daily_IBM_abridged.json")
    )
    assert daily["trade_date"].tolist() == [date(2020, 5, 7), date(2020, 5, 8)]
    adjusted = alphavantage.parse_daily_json(
        fixture_bytes("alphavantage/time_series_daily_adjusted_IBM_abridged.json")
    )
    assert adjusted["dividend_amount"].max() == 1.63


@pytest.mark.parametrize(
    ("name", "error", "scope"),
    [
        ("error_invalid_api_call_BOP_raw_wire_bytes.json", VendorBadRequest, None),
        ("error_invalid_api_call_CMO.json", VendorBadRequest, None),
        ("error_premium_endpoint_Information_2024_from_issue.json", VendorBadRequest, None),
        ("error_rate_limit_Note_5perMin_500perDay_2019.json", VendorQuotaExceeded, "minute"),
        ("error_rate_limit_Information_2018.json", VendorQuotaExceeded, "minute"),
    ],
)
def test_http_200_error_bodies_are_typed(name: str, error: type, scope: str | None) -> None:
    with pytest.raises(error) as raised:
        alphavantage.check_body(fixture_bytes(f"alphavantage/{name}"))
    assert "Alpha Vantage" in str(raised.value) or "Invalid API call" in str(raised.value)
    if scope is not None:
        assert raised.value.scope == scope


def test_daily_limit_notice_stops_for_the_day() -> None:
    # The 2024 daily-cap text, as quoted in OpenBB-finance/OpenBB PR #6188 (see PROVENANCE.md).
    text = (
        "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. "
        "Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ "
        "to instantly remove all daily rate limits."
    )
    error = alphavantage.notice_error(text)
    assert isinstance(error, VendorQuotaExceeded)
    assert error.scope == "day" and not error.retryable


def test_data_bodies_pass_the_body_check() -> None:
    alphavantage.check_body(
        fixture_bytes("alphavantage/csv/time_series_intraday_5min_IBM_demo_2026-05-15.csv")
    )
    alphavantage.check_body(fixture_bytes("alphavantage/time_series_intraday_1min_MSFT.json"))


def test_csv_rows_of_date_cuts_one_session_bytes_unchanged() -> None:
    body = fixture_bytes("alphavantage/csv/time_series_intraday_5min_IBM_demo_2026-05-15.csv")
    assert alphavantage.csv_rows_of_date(body, date(2026, 5, 15)) == body
    header_only = alphavantage.csv_rows_of_date(body, date(2026, 5, 14))
    assert header_only == b"timestamp,open,high,low,close,volume\n"
    assert alphavantage.parse_intraday_csv(header_only).empty


def test_wrong_csv_header_is_invalid() -> None:
    with pytest.raises(VendorPayloadInvalid, match="CSV header"):
        alphavantage.parse_intraday_csv(b"time,open,high,low,close,volume\n")


def test_crlf_bodies_parse_and_cut_alike() -> None:
    # Alpha Vantage sent CRLF line endings in 2020 (PROVENANCE.md): the same body with CRLF.
    body = fixture_bytes("alphavantage/csv/time_series_intraday_5min_IBM_demo_2026-05-15.csv")
    crlf = body.replace(b"\n", b"\r\n")
    pd.testing.assert_frame_equal(
        alphavantage.parse_intraday_csv(crlf, interval="5min"),
        alphavantage.parse_intraday_csv(body, interval="5min"),
    )
    assert alphavantage.csv_rows_of_date(crlf, date(2026, 5, 15)) == crlf
