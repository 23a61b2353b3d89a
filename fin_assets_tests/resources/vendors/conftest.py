"""Fixtures of the vendor tests: the real recorded bodies, a controllable clock, clients.

Recorded bodies (fixtures/, see fixtures/PROVENANCE.md) are served by pytest-httpserver on
127.0.0.1 with their real status codes and headers; the clients' base URL points at it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from fin_assets.resources.vendors.http_client import VendorHttpClient
from fin_assets.resources.vendors.rate_limit import Quota, RateLimiter

FIXTURES = Path(__file__).with_name("fixtures")
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

    def monotonic(self) -> float:
        return 1_000.0 + self.elapsed

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
