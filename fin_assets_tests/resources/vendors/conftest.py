"""Fixtures of the vendor tests: the real recorded bodies, a controllable clock, clients.

Recorded bodies (fixtures/, see fixtures/PROVENANCE.md) are served by pytest-httpserver on
127.0.0.1 with their real status codes and headers; the clients' base URL points at it. Yahoo is
reached through yfinance with a YahooSession whose origin is that server: yfinance's cookie and
crumb handshake is answered too (`serve_yahoo_handshake`, for every test), and yfinance's disk
caches (time zones, cookies) go to a temporary folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from fin_assets.resources.vendors.http_client import VendorHttpClient
from fin_assets.resources.vendors.rate_limit import Quota, RateLimiter
from fin_assets.resources.vendors.routing import VendorMarketSource
from fin_assets.resources.vendors.yahoo import chart_params

# The recorded bodies live beside the repository (../shared/fixtures/vendors, see its
# PROVENANCE.md): they are the vendors' data under their terms, used here as test fixtures only.
FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "vendors"
ENVELOPES = FIXTURES / "yahoo" / "node-yahoo-finance2_fixture_envelopes"


def fixture_bytes(relative: str) -> bytes:
    """The exact bytes of a recorded body."""
    return (FIXTURES / relative).read_bytes()


def yahoo_envelope_headers(name: str) -> dict[str, str]:
    """Response headers Yahoo sent with a recorded chart body (content-length dropped: the
    stored body is re-serialized JSON, see PROVENANCE.md)."""
    headers = json.loads((ENVELOPES / name).read_text())["response"]["headers"]
    return {k: v for k, v in headers.items() if k not in ("content-length", "content-encoding")}


class FakeClock:
    """A clock that only moves when slept on; records every sleep."""

    def __init__(self, start: datetime = datetime(2026, 5, 15, 12, tzinfo=UTC)) -> None:
        self.start = start
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.elapsed += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(
    vendor: ModuleType,
    server: HTTPServer,
    clock: FakeClock,
    quotas: tuple[Quota, ...] = (Quota(1_000, 60),),
    **options: Any,
) -> VendorHttpClient:
    """A client of `vendor` (module alphavantage, coingecko or yahoo) against `server`."""
    secret = {"secret_params": frozenset({"apikey"})} if vendor.VENDOR == "alphavantage" else {}
    return VendorHttpClient(
        vendor=vendor.VENDOR,
        base_url=server.url_for("/"),
        limiter=RateLimiter(vendor.VENDOR, quotas, clock=clock),
        describe_error=vendor.describe_error,
        check_body=vendor.check_body,
        clock=clock,
        **secret,
        **options,
    )


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """pytest-httpserver listens on 127.0.0.1 (a free port)."""
    return ("127.0.0.1", 0)


AAPL_EMPTY_1M = "chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json"
# Quotas far above what a test uses: the shared limiters run on the real clock.
FAST = {
    "alphavantage_calls_per_minute": 1_000,
    "alphavantage_calls_per_day": 100_000,
    "coingecko_calls_per_minute": 1_000,
    "yahoo_calls_per_minute": 1_000,
}
# What the test server answers yfinance's crumb request with.
YAHOO_CRUMB = "fixture-crumb"
# Recorded daily charts whose `meta` answers yfinance's time-zone lookup (range=1d, interval=1d).
YAHOO_ZONE_BODIES = {
    "America/New_York": "yahoo/chart_v8_AAPL_1d_2020-01-01_2020-01-03_body.json",
    "UTC": "yahoo/chart_v8_BTC-USD_1d_body.json",
}
# The AAPL session of 2025-02-03: 09:30 to 16:00 EST (bars opening up to 15:59).
AAPL_2025_02_03 = (
    datetime(2025, 2, 3, 14, 30, tzinfo=UTC),
    datetime(2025, 2, 3, 21, 0, tzinfo=UTC),
)


@pytest.fixture(scope="session", autouse=True)
def yfinance_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """yfinance caches time zones and cookies in the user's cache folder: the tests' go to a
    temporary one, in this process and in the run processes it starts (XDG_CACHE_HOME)."""
    import yfinance

    folder = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder))
        yfinance.set_tz_cache_location(str(folder / "py-yfinance"))
        yield folder


@pytest.fixture(autouse=True)
def serve_yahoo_handshake(httpserver: HTTPServer) -> None:
    """yfinance's handshake before its first request: the cookie page (fc.yahoo.com, "/"), the
    crumb, and the consent page of its other cookie strategy (no form: it falls back)."""
    httpserver.expect_request("/").respond_with_data(
        "", headers={"Set-Cookie": "A3=fixture-cookie; Path=/"}
    )
    httpserver.expect_request("/v1/test/getcrumb").respond_with_data(YAHOO_CRUMB)
    httpserver.expect_request("/consent").respond_with_data("<html><body></body></html>")


def data_requests(httpserver: HTTPServer) -> list[str]:
    """Paths of the requests for data the server received: yfinance's handshake and time-zone
    lookups (once per ticker and cache folder) left out."""
    return [
        request.path
        for request, _ in httpserver.log
        if request.path not in ("/", "/v1/test/getcrumb", "/consent")
        and request.args.get("range") != "1d"
    ]


def serve_yahoo_zone(httpserver: HTTPServer, ticker: str, zone: str = "America/New_York") -> None:
    """yfinance's time-zone lookup of `ticker`, answered with a recorded chart of that zone."""
    httpserver.expect_request(
        f"/v8/finance/chart/{ticker}",
        query_string={"range": "1d", "interval": "1d", "crumb": YAHOO_CRUMB},
    ).respond_with_data(fixture_bytes(YAHOO_ZONE_BODIES[zone]), content_type="application/json")


def yahoo_query(start: datetime, end: datetime, interval: str) -> dict[str, str]:
    """The chart query yfinance sends for bars of [start, end), crumb included."""
    return {**chart_params(start, end, interval), "crumb": YAHOO_CRUMB}


def vendor_source(httpserver: HTTPServer, **config: object) -> VendorMarketSource:
    """The vendors source with every base URL at `httpserver` and test keys."""
    url = httpserver.url_for("/")
    return VendorMarketSource(
        alphavantage_api_key="av-key",
        alphavantage_base_url=url,
        coingecko_api_key="cg-key",
        coingecko_base_url=url,
        yahoo_base_url=url,
        **{**FAST, **config},
    )


def serve_yahoo_empty_day(httpserver: HTTPServer, symbol: str = "AAPL") -> bytes:
    """The recorded empty 1-minute chart (of AAPL), served for `symbol`'s session of 2025-02-03
    (any XNYS symbol: the request's session bounds are the same), as yfinance asks for it."""
    body = fixture_bytes("yahoo/chart_v8_AAPL_1m_weekend_empty_body.json")
    serve_yahoo_zone(httpserver, symbol)
    httpserver.expect_request(
        f"/v8/finance/chart/{symbol}", query_string=yahoo_query(*AAPL_2025_02_03, "1m")
    ).respond_with_data(body, headers=yahoo_envelope_headers(AAPL_EMPTY_1M))
    return body
