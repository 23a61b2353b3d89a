"""The vendor HTTP client over real HTTP: throttles, retries, backoff, limits, secrets."""

import logging
from concurrent.futures import ThreadPoolExecutor
from email.utils import format_datetime

import pytest
from pytest_httpserver import HTTPServer

from fin_assets.resources.vendors import alphavantage, coingecko, yahoo
from fin_assets.resources.vendors.errors import (
    VendorBadRequest,
    VendorQuotaExceeded,
    VendorUnavailable,
)
from fin_assets.resources.vendors.rate_limit import Quota, RateLimiter, shared_limiter
from fin_assets.testing.ports import free_port
from fin_assets_tests.resources.vendors.conftest import FakeClock, fixture_bytes, make_client

AV_CSV = fixture_bytes("alphavantage/csv/time_series_intraday_5min_IBM_demo_2026-05-15.csv")
AV_PARAMS = alphavantage.intraday_params("IBM", "2026-05", "5min", False, "csv")
SECRET = "AV-SECRET-KEY-123"
# Headers of CoinGecko's real 429 (OkHttp log in nimblehq/jetpack-compose-crypto PR #45).
COINGECKO_429_HEADERS = {"retry-after": "119", "server": "cloudflare"}


def _json(httpserver: HTTPServer, uri: str, name: str, status: int = 200, **headers: str) -> None:
    httpserver.expect_ordered_request(uri).respond_with_data(
        fixture_bytes(name), status=status, headers=headers, content_type="application/json"
    )


def test_minute_throttle_waits_a_minute_and_retries(
    httpserver: HTTPServer, clock: FakeClock
) -> None:
    note = "alphavantage/error_rate_limit_Note_5perMin_500perDay_2019.json"
    _json(httpserver, "/query", note)
    _json(httpserver, "/query", note)
    httpserver.expect_ordered_request("/query").respond_with_data(AV_CSV, content_type="text/csv")
    client = make_client(alphavantage, httpserver, clock)
    response = alphavantage.query(client, SECRET, AV_PARAMS)
    assert response.content == AV_CSV
    assert clock.sleeps == [60.0, 60.0]
    assert len(httpserver.log) == 3
    assert "apikey" not in response.params and response.params["month"] == "2026-05"
    assert response.fetched_at == clock.now()


def test_daily_quota_stops_without_retrying(httpserver: HTTPServer, clock: FakeClock) -> None:
    daily = (
        b'{"Information": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 '
        b"requests per day. Please subscribe to any of the premium plans at "
        b'https://www.alphavantage.co/premium/ to instantly remove all daily rate limits."}'
    )
    httpserver.expect_request("/query").respond_with_data(daily, content_type="application/json")
    with pytest.raises(VendorQuotaExceeded, match="25 requests per day") as raised:
        alphavantage.query(make_client(alphavantage, httpserver, clock), SECRET, AV_PARAMS)
    assert raised.value.scope == "day"
    assert len(httpserver.log) == 1 and clock.sleeps == []


def test_bad_request_fails_fast(httpserver: HTTPServer, clock: FakeClock) -> None:
    _json(httpserver, "/query", "alphavantage/error_invalid_api_call_BOP_raw_wire_bytes.json")
    with pytest.raises(VendorBadRequest, match=r"Invalid API call\. .* for BOP\."):
        alphavantage.query(make_client(alphavantage, httpserver, clock), SECRET, AV_PARAMS)
    assert len(httpserver.log) == 1 and clock.sleeps == []


def test_coingecko_429_honours_retry_after(httpserver: HTTPServer, clock: FakeClock) -> None:
    uri = "/coins/ethereum/ohlc"
    _json(httpserver, uri, "coingecko/error_429_rate_limit_body.json", 429, **COINGECKO_429_HEADERS)
    httpserver.expect_ordered_request(uri).respond_with_data(
        b"[[1709395200000,61942,62211,61721,61845]]", content_type="application/json"
    )
    response = coingecko.ohlc(make_client(coingecko, httpserver, clock), "ethereum", 1, "usd")
    assert coingecko.parse_ohlc(response.content, 30)["close"].tolist() == [61845.0]
    assert clock.sleeps == [119.0]


def test_coingecko_retry_after_beyond_the_cap_gives_up(
    httpserver: HTTPServer, clock: FakeClock
) -> None:
    headers = {**COINGECKO_429_HEADERS, "retry-after": "3600"}
    _json(
        httpserver,
        "/coins/ethereum/ohlc",
        "coingecko/error_429_rate_limit_body.json",
        429,
        **headers,
    )
    client = make_client(coingecko, httpserver, clock, max_retry_after_seconds=120.0)
    with pytest.raises(VendorQuotaExceeded, match="error 429: You've exceeded") as raised:
        coingecko.ohlc(client, "ethereum", 1, "usd")
    assert raised.value.retry_after_seconds == 3600.0
    assert len(httpserver.log) == 1 and clock.sleeps == []


def test_coingecko_401_time_range_is_a_bad_request(
    httpserver: HTTPServer, clock: FakeClock
) -> None:
    uri = "/coins/bitcoin/market_chart/range"
    _json(httpserver, uri, "coingecko/error_401_10012_time_range_exceeded_body.json", 401)
    client = make_client(coingecko, httpserver, clock)
    start, end = clock.now().replace(year=2020), clock.now()
    with pytest.raises(VendorBadRequest, match="HTTP 401: error 10012: Your request exceeds"):
        coingecko.market_chart_range(client, "bitcoin", start, end, "usd")
    assert len(httpserver.log) == 1


def test_server_errors_back_off_exponentially_then_fail(
    httpserver: HTTPServer, clock: FakeClock
) -> None:
    httpserver.expect_request("/v8/finance/chart/AAPL").respond_with_data(b"busy", status=503)
    client = make_client(yahoo, httpserver, clock, max_attempts=4, backoff_seconds=2.0)
    with pytest.raises(VendorUnavailable, match="HTTP 503: busy"):
        client.get("v8/finance/chart/AAPL", {}, endpoint=yahoo.ENDPOINT)
    assert len(httpserver.log) == 4
    # 2 * 2**retry plus uniform jitter in [0, 2).
    assert len(clock.sleeps) == 3
    assert all(0 <= pause - 2 * 2**n <= 2 for n, pause in enumerate(clock.sleeps))


def test_retry_after_http_date(httpserver: HTTPServer, clock: FakeClock) -> None:
    when = format_datetime(clock.start.replace(second=30), usegmt=True)  # 30 s after "now"
    httpserver.expect_ordered_request("/v8/finance/chart/AAPL").respond_with_data(
        b"", status=503, headers={"Retry-After": when}
    )
    empty = fixture_bytes("yahoo/chart_v8_AAPL_1m_weekend_empty_body.json")
    httpserver.expect_ordered_request("/v8/finance/chart/AAPL").respond_with_data(
        empty, content_type="application/json"
    )
    response = make_client(yahoo, httpserver, clock).get(
        "v8/finance/chart/AAPL", {}, endpoint=yahoo.ENDPOINT
    )
    assert response.content == empty
    assert clock.sleeps == [30.0]


def test_connection_errors_are_retried_and_never_show_the_key(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(alphavantage, _Closed(free_port()), clock, max_attempts=3)
    with (
        caplog.at_level(logging.INFO, logger="fin_assets.vendors"),
        pytest.raises(VendorUnavailable, match="ConnectionError") as raised,
    ):
        alphavantage.query(client, SECRET, AV_PARAMS)
    assert len(clock.sleeps) == 2
    assert SECRET not in str(raised.value) and raised.value.__cause__ is None
    assert SECRET not in caplog.text and "attempt 2 of 3 failed" in caplog.text


def test_key_is_sent_but_never_logged(
    httpserver: HTTPServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request(
        "/query", query_string={**AV_PARAMS, "apikey": SECRET}
    ).respond_with_data(AV_CSV, content_type="text/csv")
    with caplog.at_level(logging.INFO, logger="fin_assets.vendors"):
        alphavantage.query(make_client(alphavantage, httpserver, clock), SECRET, AV_PARAMS)
    (logged,) = [r.getMessage() for r in caplog.records if r.name == "fin_assets.vendors"]
    assert "month=2026-05" in logged and logged.endswith("-> HTTP 200")
    assert SECRET not in logged


def test_limiter_spaces_calls_over_the_quota(httpserver: HTTPServer, clock: FakeClock) -> None:
    httpserver.expect_request("/query").respond_with_data(AV_CSV, content_type="text/csv")
    client = make_client(alphavantage, httpserver, clock, quotas=(Quota(2, 60),))
    for _ in range(4):
        alphavantage.query(client, SECRET, AV_PARAMS)
    # A bucket of 2 tokens refilled every 30 s: two calls at once, then one every 30 s.
    assert clock.sleeps == [30.0, 30.0]


def test_free_tier_limiter_then_daily_stop(clock: FakeClock) -> None:
    limiter = RateLimiter("alphavantage", alphavantage.FREE_QUOTAS, clock=clock)
    for _ in range(25):
        limiter.acquire()
    # 5 at once, then one every 12 s (5 a minute) until the 25th at 240 s.
    assert clock.sleeps == [12.0] * 20
    with pytest.raises(VendorQuotaExceeded, match="25 calls per 86400 s") as raised:
        limiter.acquire()
    # The 26th call waits its 12 s for the minute bucket, then finds the daily one empty: it
    # refills one token every 86400 / 25 = 3456 s, so the next call is allowed at 3456 s.
    assert raised.value.scope == "day" and raised.value.retry_after_seconds == 3456 - 252
    assert clock.sleeps == [12.0] * 21  # it did not sleep for hours


def test_shared_limiter_per_vendor_and_key() -> None:
    quotas = (Quota(5, 60),)
    first = shared_limiter("alphavantage", "key-a", quotas)
    assert shared_limiter("alphavantage", "key-a", quotas) is first
    assert shared_limiter("alphavantage", "key-b", quotas) is not first
    assert shared_limiter("coingecko", "key-a", quotas) is not first


class _Closed:
    """Stands for an HTTP server at a port where nothing listens."""

    def __init__(self, port: int) -> None:
        self.port = port

    def url_for(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def test_daily_endpoints_end_to_end(httpserver: HTTPServer, clock: FakeClock) -> None:
    adjusted = fixture_bytes("alphavantage/csv/time_series_daily_adjusted_IBM_demo_2026-05-15.csv")
    params = alphavantage.daily_params("IBM", adjusted=True, full=False, datatype="csv")
    httpserver.expect_request(
        "/query", query_string={**params, "apikey": SECRET}
    ).respond_with_data(adjusted, content_type="text/csv")
    response = alphavantage.query(make_client(alphavantage, httpserver, clock), SECRET, params)
    assert response.endpoint == "TIME_SERIES_DAILY_ADJUSTED"
    assert alphavantage.parse_daily_csv(response.content)["dividend_amount"].sum() == 1.68 + 1.69


def test_threads_share_one_bucket(clock: FakeClock) -> None:
    limiter = RateLimiter("coingecko", (Quota(8, 60),), clock=clock)
    with ThreadPoolExecutor(max_workers=8) as pool:
        slept = list(pool.map(lambda _: limiter.acquire(), range(8)))
    assert slept == [0.0] * 8  # the 8 tokens of the full bucket, taken by 8 threads
    # The threads emptied the bucket the main thread uses: one token per 60 / 8 = 7.5 s.
    assert limiter.acquire() == 7.5 and clock.sleeps == [7.5]
