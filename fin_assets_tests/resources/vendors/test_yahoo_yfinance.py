"""The Yahoo connector through yfinance, offline: recorded chart bodies served over real HTTP.

yfinance gets a YahooSession (its public `session` parameter) whose origin is the local
pytest-httpserver; nothing of yfinance is patched. The handshake answers come from the
conftest's `serve_yahoo_handshake`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pytest
import yfinance
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from fin_assets.resources.vendors import yahoo
from fin_assets.resources.vendors.errors import (
    VendorBadRequest,
    VendorQuotaExceeded,
    VendorUnavailable,
)
from fin_assets.resources.vendors.rate_limit import Quota, RateLimiter
from fin_assets.resources.vendors.yahoo_client import YahooChartClient, YahooSession
from fin_assets.testing.ports import free_port
from fin_assets_tests.resources.vendors.conftest import (
    AAPL_2025_02_03,
    YAHOO_CRUMB,
    FakeClock,
    fixture_bytes,
    serve_yahoo_zone,
    yahoo_query,
)

EMPTY_1M = fixture_bytes("yahoo/chart_v8_AAPL_1m_weekend_empty_body.json")
SPLITS_1D = fixture_bytes("yahoo/chart_v8_AAPL_1d_2020-08-31_2020-11-07_splits_dividends_body.json")
SPLITS_RANGE = (datetime(2020, 8, 31, tzinfo=UTC), datetime(2020, 11, 8, tzinfo=UTC))
# Yahoo's chart error envelope for an unknown ticker (HTTP 404), with the description yfinance
# quotes (see PROVENANCE.md: no raw body of it was captured).
NOT_FOUND = json.dumps(
    {
        "chart": {
            "result": None,
            "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
        }
    }
).encode()


class CountingLimiter(RateLimiter):
    """A limiter that counts the tokens taken."""

    taken = 0

    def acquire(self) -> float:
        self.taken += 1
        return super().acquire()


def fast_limiter(clock: FakeClock) -> RateLimiter:
    return RateLimiter("yahoo", (Quota(1_000, 60),), clock=clock)


def yahoo_client(origin: str, clock: FakeClock, **options: Any) -> YahooChartClient:
    """A Yahoo client whose requests go to `origin` (the test server)."""
    return YahooChartClient(
        vendor=yahoo.VENDOR,
        base_url=origin,
        limiter=options.pop("limiter", None) or fast_limiter(clock),
        describe_error=yahoo.describe_error,
        check_body=yahoo.check_body,
        clock=clock,
        **options,
    )


def bar_requests(httpserver: HTTPServer, ticker: str = "AAPL") -> list[Request]:
    """The chart requests for bars the server received (not the time-zone lookups)."""
    return [
        request
        for request, _ in httpserver.log
        if request.path == f"/v8/finance/chart/{ticker}" and "period1" in request.args
    ]


def test_the_payload_is_the_answer_as_received_without_the_crumb(
    httpserver: HTTPServer, clock: FakeClock
) -> None:
    serve_yahoo_zone(httpserver, "AAPL")
    httpserver.expect_request(
        "/v8/finance/chart/AAPL", query_string=yahoo_query(*AAPL_2025_02_03, "1m")
    ).respond_with_data(EMPTY_1M, content_type="application/json;charset=utf-8")
    limiter = CountingLimiter("yahoo", (Quota(1_000, 60),), clock=clock)
    before = len(httpserver.log)
    response = yahoo.chart(
        yahoo_client(httpserver.url_for("/"), clock, limiter=limiter),
        "AAPL",
        *AAPL_2025_02_03,
        "1m",
    )
    assert response.content == EMPTY_1M
    assert response.content_type == "application/json;charset=utf-8"
    assert response.endpoint == "v8/finance/chart" and response.status == 200
    # yfinance sent its crumb (the handshake ran); lineage keeps the query without it.
    (request,) = bar_requests(httpserver)
    assert request.args["crumb"] == YAHOO_CRUMB
    assert dict(response.params) == {
        "period1": "1738593000",
        "period2": "1738616400",
        "interval": "1m",
        "includePrePost": "false",
        "events": "div,splits,capitalGains",
    }
    # Every request to Yahoo (cookie, crumb, time zone, bars) took a limiter token.
    assert limiter.taken == len(httpserver.log) - before >= 1
    assert yahoo.parse_chart_intraday(response.content).empty


def test_daily_chart_reads_as_yfinance_reads_it(httpserver: HTTPServer, clock: FakeClock) -> None:
    """Our parser and yfinance's own history() agree on the recorded AAPL chart with the 4:1
    split of 2020-08-31 and the dividend of 2020-11-06 (prices as traded, not adjusted)."""
    serve_yahoo_zone(httpserver, "AAPL")
    httpserver.expect_request(
        "/v8/finance/chart/AAPL", query_string=yahoo_query(*SPLITS_RANGE, "1d")
    ).respond_with_data(SPLITS_1D, content_type="application/json")
    response = yahoo.chart(
        yahoo_client(httpserver.url_for("/"), clock), "AAPL", *SPLITS_RANGE, "1d"
    )
    assert response.content == SPLITS_1D
    ours = yahoo.parse_chart_daily(response.content).set_index("trade_date")
    assert ours.loc[date(2020, 8, 31), "split_coefficient"] == 4.0
    assert ours.loc[date(2020, 11, 6), "dividend_amount"] == 0.205

    session = YahooSession(fast_limiter(clock), httpserver.url_for("/"))
    theirs = yfinance.Ticker("AAPL", session=session).history(
        start=SPLITS_RANGE[0], end=SPLITS_RANGE[1], interval="1d", auto_adjust=False, actions=True
    )
    theirs.index = [stamp.date() for stamp in theirs.index]
    assert list(ours.index) == list(theirs.index)
    pd.testing.assert_series_equal(ours["close"], theirs["Close"], check_names=False)
    pd.testing.assert_series_equal(ours["adjusted_close"], theirs["Adj Close"], check_names=False)
    assert ours["volume"].tolist() == theirs["Volume"].astype(float).tolist()
    assert ours["dividend_amount"].tolist() == theirs["Dividends"].tolist()
    assert ours["split_coefficient"].tolist() == theirs["Stock Splits"].replace(0, 1).tolist()


def test_server_errors_are_retried_and_every_attempt_reaches_yahoo(
    httpserver: HTTPServer, clock: FakeClock
) -> None:
    serve_yahoo_zone(httpserver, "AAPL")
    httpserver.expect_request(
        "/v8/finance/chart/AAPL", query_string=yahoo_query(*AAPL_2025_02_03, "1m")
    ).respond_with_data(b"busy", status=503)
    client = yahoo_client(httpserver.url_for("/"), clock, max_attempts=3, backoff_seconds=2.0)
    with pytest.raises(VendorUnavailable, match="HTTP 503: busy"):
        yahoo.chart(client, "AAPL", *AAPL_2025_02_03, "1m")
    # Three attempts, each a request plus yfinance's re-request with its other cookie strategy:
    # none was answered from yfinance's in-process cache of past ranges.
    assert len(bar_requests(httpserver)) == 3 * 2
    assert len(clock.sleeps) == 2
    assert all(0 <= pause - 2 * 2**n <= 2 for n, pause in enumerate(clock.sleeps))


def test_throttling_waits_retry_after_then_succeeds(
    httpserver: HTTPServer, clock: FakeClock
) -> None:
    serve_yahoo_zone(httpserver, "AAPL")
    answered: list[int] = []

    def throttle_twice(request: Request) -> Response:
        answered.append(429 if len(answered) < 2 else 200)
        if answered[-1] == 429:
            return Response("Too Many Requests", status=429, headers={"Retry-After": "7"})
        return Response(EMPTY_1M, content_type="application/json")

    httpserver.expect_request(
        "/v8/finance/chart/AAPL", query_string=yahoo_query(*AAPL_2025_02_03, "1m")
    ).respond_with_handler(throttle_twice)
    response = yahoo.chart(
        yahoo_client(httpserver.url_for("/"), clock), "AAPL", *AAPL_2025_02_03, "1m"
    )
    assert response.content == EMPTY_1M
    assert answered == [429, 429, 200]  # yfinance's own re-request, then our retry
    assert clock.sleeps == [7.0]


def test_a_spent_retry_after_budget_is_a_quota_error(
    httpserver: HTTPServer, clock: FakeClock
) -> None:
    serve_yahoo_zone(httpserver, "AAPL")
    httpserver.expect_request(
        "/v8/finance/chart/AAPL", query_string=yahoo_query(*AAPL_2025_02_03, "1m")
    ).respond_with_data("Too Many Requests", status=429, headers={"Retry-After": "3600"})
    with pytest.raises(VendorQuotaExceeded, match="HTTP 429") as raised:
        yahoo.chart(yahoo_client(httpserver.url_for("/"), clock), "AAPL", *AAPL_2025_02_03, "1m")
    assert raised.value.scope == "minute" and raised.value.retry_after_seconds == 3600
    assert clock.sleeps == []  # beyond max_retry_after_seconds: no wait, no retry


def test_a_spent_local_budget_stops_without_calling_yahoo(
    httpserver: HTTPServer, clock: FakeClock
) -> None:
    limiter = RateLimiter("yahoo", (Quota(1, 86_400),), clock=clock)
    limiter.acquire()  # the day's only call, spent elsewhere
    with pytest.raises(VendorQuotaExceeded, match="local quota of 1 calls per 86400 s") as raised:
        yahoo.chart(
            yahoo_client(httpserver.url_for("/"), clock, limiter=limiter),
            "AAPL",
            *AAPL_2025_02_03,
            "1m",
        )
    assert raised.value.scope == "day"
    assert httpserver.log == [] and clock.sleeps == []


def test_an_unknown_ticker_is_a_bad_request_with_yahoo_words(
    httpserver: HTTPServer, clock: FakeClock
) -> None:
    httpserver.expect_request("/v8/finance/chart/NOPE").respond_with_data(
        NOT_FOUND, status=404, content_type="application/json"
    )
    with pytest.raises(
        VendorBadRequest, match="HTTP 404: Not Found: No data found, symbol may be delisted"
    ):
        yahoo.chart(yahoo_client(httpserver.url_for("/"), clock), "NOPE", *AAPL_2025_02_03, "1m")
    assert clock.sleeps == []  # not retried
    assert bar_requests(httpserver, "NOPE") == []  # yfinance stopped at its time-zone lookup


def test_connection_errors_are_unavailable_and_never_show_the_crumb(clock: FakeClock) -> None:
    closed = f"http://127.0.0.1:{free_port()}/"
    client = yahoo_client(closed, clock, max_attempts=2)
    with pytest.raises(VendorUnavailable, match="on GET v8/finance/chart/AAPL") as raised:
        yahoo.chart(client, "AAPL", *AAPL_2025_02_03, "1m")
    assert "crumb" not in str(raised.value) and raised.value.__cause__ is None
    assert len(clock.sleeps) == 1
