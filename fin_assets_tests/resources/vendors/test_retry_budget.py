"""Vendor retries over real HTTP, counting the calls: one budget per request across the client's
and the step's retries, Retry-After beyond the step's patience, CDN pages."""

from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterEventType, ExecuteInProcessResult, MultiPartitionKey, materialize
from pytest_httpserver import HTTPServer

from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.storage import LakeResource
from fin_assets.resources.vendors import alphavantage, coingecko
from fin_assets.resources.vendors.attempt_budget import (
    AttemptBudget,
    MemoryAttemptStore,
    SqlAttemptStore,
    VendorRetryBudgetSpent,
    request_budget,
)
from fin_assets.resources.vendors.errors import VendorUnavailable
from fin_assets.resources.vendors.limiter_store import limiter_engine
from fin_assets.resources.vendors.rate_limit import Quota
from fin_assets.resources.vendors.routing import VendorMarketSource
from fin_assets.universe import load_universe
from fin_assets_tests.graph import asset_def
from fin_assets_tests.resources.vendors.conftest import (
    FakeClock,
    fixture_bytes,
    make_client,
    vendor_source,
)

UNIVERSE = {s.symbol: s for s in load_universe()}
AV_PARAMS = alphavantage.intraday_params("AAPL", "2025-02", "1min", False, "csv")
AV_CSV = fixture_bytes("alphavantage/csv/time_series_intraday_5min_IBM_demo_2026-05-15.csv")
CLOUDFLARE_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Just a moment...</title></head>"
    b"<body>Checking your browser before accessing the site.</body></html>"
)


def _run(source: VendorMarketSource, lake_root: Path, symbol: str) -> ExecuteInProcessResult:
    return materialize(
        [asset_def("raw_quotes")],
        partition_key=MultiPartitionKey({"date": "2025-02-03", "symbol": symbol}),
        resources={"market_data": source, "lake": LakeResource(root=str(lake_root))},
        raise_on_error=False,
    )


def _step_retries(result: ExecuteInProcessResult) -> int:
    return len([e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY])


def test_a_request_gets_one_budget_over_client_and_step_retries(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    # Alpha Vantage answering HTTP 500 for good (with a 1-s Retry-After, so the test is quick):
    # 3 client attempts, one step retry, 2 more attempts: the request's 5 calls, not 25.
    httpserver.expect_request("/query").respond_with_data(
        b"Internal Server Error", status=500, headers={"Retry-After": "1"}
    )
    source = vendor_source(
        httpserver,
        alphavantage_calls_per_minute=5,
        alphavantage_calls_per_day=25,
        limiter_store_url=f"sqlite:///{tmp_path / 'limiter.sqlite'}",
    )
    result = _run(source, tmp_path / "lake", "AAPL")

    assert not result.success
    assert len(httpserver.log) == 5
    assert _step_retries(result) == 1
    (failure,) = result.get_step_failure_events()
    message = str(failure.event_specific_data.error)
    assert "VendorRetryBudgetSpent" in message and "not retried" in message
    assert "its whole retry budget of 5 (client and step retries together)" in message
    assert "last error: alphavantage: HTTP 500: Internal Server Error" in message
    assert ParquetLake(str(tmp_path / "lake")).list_objects("raw") == []


def test_the_budget_is_shared_by_processes_and_spent_without_calling(
    httpserver: HTTPServer, tmp_path: Path, clock: FakeClock
) -> None:
    # Each client stands for one step attempt in its own process (the multiprocess or k8s
    # executors): they share the budget through the store, keyed by the run.
    httpserver.expect_request("/query").respond_with_data(b"busy", status=503)
    store = SqlAttemptStore(limiter_engine(f"sqlite:///{tmp_path / 'limiter.sqlite'}"))

    def step_attempt() -> None:
        budget = AttemptBudget(store, "run-1", request_budget(alphavantage.FREE_QUOTAS, 5))
        client = make_client(alphavantage, httpserver, clock, max_attempts=3, budget=budget)
        alphavantage.query(client, "key", AV_PARAMS)

    with pytest.raises(VendorUnavailable):  # 3 calls: the step may retry (2 left)
        step_attempt()
    assert len(httpserver.log) == 3
    with pytest.raises(VendorRetryBudgetSpent) as spent:  # 2 calls, then the budget is spent
        step_attempt()
    assert len(httpserver.log) == 5
    assert isinstance(spent.value.__cause__, VendorUnavailable) and not spent.value.retryable
    with pytest.raises(VendorRetryBudgetSpent, match="last error: alphavantage: HTTP 503: busy"):
        step_attempt()  # no call at all
    assert len(httpserver.log) == 5
    # Another run has a budget of its own.
    other = AttemptBudget(store, "run-2", 5)
    assert other.remaining("GET TIME_SERIES_INTRADAY?x") == 5


def test_the_budget_is_bounded_by_the_quota() -> None:
    assert request_budget(alphavantage.FREE_QUOTAS, 5) == 5  # 25 a day: a fifth
    assert request_budget((Quota(5, 60), Quota(10, 86_400)), 5) == 2
    assert request_budget((Quota(5, 60), Quota(3, 86_400)), 5) == 1
    assert request_budget((Quota(30, 60), Quota(10_000, 30 * 86_400)), 5) == 5


def test_a_retry_after_beyond_the_steps_patience_fails_at_once_as_a_quota_error(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/coins/bitcoin/market_chart/range").respond_with_data(
        fixture_bytes("coingecko/error_429_rate_limit_body.json"),
        status=429,
        headers={"retry-after": "3600", "server": "cloudflare"},
        content_type="application/json",
    )
    result = _run(vendor_source(httpserver), tmp_path / "lake", "BTC")

    assert not result.success
    assert len(httpserver.log) == 1
    assert _step_retries(result) == 0
    (failure,) = result.get_step_failure_events()
    message = str(failure.event_specific_data.error)
    assert "VendorQuotaExceeded: coingecko: HTTP 429: error 429: You've exceeded" in message
    assert "the vendor asks to wait 3600 s, beyond the step's patience of 240 s" in message
    assert "(not retried)" in message


@pytest.mark.parametrize(
    ("body", "content_type", "what"),
    [
        (CLOUDFLARE_PAGE, "text/html; charset=UTF-8", "an HTML page"),
        (b"", "text/csv", "an empty body"),
        (b"  \r\n", "application/json", "an empty body"),
    ],
)
def test_a_cdn_page_with_http_200_is_transient(
    httpserver: HTTPServer, clock: FakeClock, body: bytes, content_type: str, what: str
) -> None:
    httpserver.expect_ordered_request("/query").respond_with_data(body, content_type=content_type)
    httpserver.expect_ordered_request("/query").respond_with_data(AV_CSV, content_type="text/csv")
    client = make_client(alphavantage, httpserver, clock)
    assert alphavantage.query(client, "key", AV_PARAMS).content == AV_CSV
    assert len(httpserver.log) == 2 and len(clock.sleeps) == 1

    httpserver.clear()
    httpserver.expect_request("/coins/bitcoin/ohlc").respond_with_data(
        body, content_type=content_type
    )
    client = make_client(coingecko, httpserver, clock, max_attempts=2)
    with pytest.raises(VendorUnavailable, match=f"HTTP 200 with {what}"):
        coingecko.ohlc(client, "bitcoin", 1, "usd")
    assert len(httpserver.log) == 2


def test_a_cdn_page_does_not_fail_the_pull(httpserver: HTTPServer) -> None:
    regular = [line for line in AV_CSV.splitlines(keepends=True)[1:] if line[11:16] < b"16:00"]
    header = AV_CSV.splitlines(keepends=True)[0]
    moved = header + b"".join(b"2025-02-03" + line[10:] for line in regular)
    httpserver.expect_ordered_request("/query").respond_with_data(
        CLOUDFLARE_PAGE, content_type="text/html"
    )
    httpserver.expect_ordered_request("/query").respond_with_data(moved, content_type="text/csv")
    source = vendor_source(httpserver, backoff_seconds=0.01)
    payload = source.fetch_intraday(UNIVERSE["AAPL"], date(2025, 2, 3))
    assert payload is not None and payload.content == moved and payload.bar_count == 52
    assert len(httpserver.log) == 2


def test_each_request_has_its_own_budget(httpserver: HTTPServer, clock: FakeClock) -> None:
    # CoinGecko's coin id is in the path: bitcoin spending its budget leaves ethereum's whole.
    httpserver.expect_request("/coins/bitcoin/ohlc").respond_with_data(b"busy", status=503)
    httpserver.expect_request("/coins/ethereum/ohlc").respond_with_data(
        b"[[1709395200000,61942,62211,61721,61845]]", content_type="application/json"
    )
    budget = AttemptBudget(MemoryAttemptStore(), "run-1", 2)
    client = make_client(coingecko, httpserver, clock, max_attempts=3, budget=budget)
    with pytest.raises(VendorRetryBudgetSpent, match="2 calls of GET coins/bitcoin/ohlc"):
        coingecko.ohlc(client, "bitcoin", 1, "usd")
    assert coingecko.ohlc(client, "ethereum", 1, "usd").status == 200
    assert [request.path for request, _ in httpserver.log] == [
        "/coins/bitcoin/ohlc",
        "/coins/bitcoin/ohlc",
        "/coins/ethereum/ohlc",
    ]
