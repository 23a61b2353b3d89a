"""raw_quotes with the vendors source: lineage, reuse under quotas, typed failures, no writes."""

import hashlib
from datetime import date
from pathlib import Path

from dagster import AssetCheckSeverity, ExecuteInProcessResult, MultiPartitionKey, materialize
from pytest_httpserver import HTTPServer

from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.storage import LakeResource
from fin_assets.resources.vendors.routing import VendorMarketSource
from fin_assets_tests.graph import asset_def
from fin_assets_tests.resources.vendors.conftest import (
    data_requests,
    fixture_bytes,
    serve_yahoo_empty_day,
    vendor_source,
)


def _run(
    source: VendorMarketSource, lake_root: Path, day: str, symbol: str
) -> ExecuteInProcessResult:
    return materialize(
        [asset_def("raw_quotes")],
        partition_key=MultiPartitionKey({"date": day, "symbol": symbol}),
        resources={"market_data": source, "lake": LakeResource(root=str(lake_root))},
        raise_on_error=False,
    )


def test_lineage_then_no_data_is_fetched_again(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = serve_yahoo_empty_day(httpserver)
    source = vendor_source(httpserver, equity_vendor="yahoo")
    first = _run(source, tmp_path / "lake", "2025-02-03", "AAPL")
    assert first.success
    (event,) = first.asset_materializations_for_node("raw_quotes")
    metadata = {key: value.value for key, value in event.metadata.items()}
    assert metadata["vendors"] == {"AAPL": "yahoo"} and metadata["volume_unavailable"] == []
    assert metadata["payloads_stored"] == 1 and metadata["lineage_entries"] == 1
    # Yahoo's answer holds no bar: a session without data, stored and reported, not a failure.
    assert metadata["no_data"] == ["AAPL|2025-02-03"] and metadata["no_data_count"] == 1
    (lineage,) = metadata["lineage"]
    assert lineage["vendor"] == "yahoo" and lineage["endpoint"] == "v8/finance/chart"
    assert lineage["sha256"] == hashlib.sha256(body).hexdigest()
    assert lineage["params"]["period1"] == "1738593000"
    assert lineage["params"]["response_sha256"] == lineage["sha256"]
    assert lineage["fetched_at"].startswith(str(date.today().year))
    lake = ParquetLake(str(tmp_path / "lake"))
    (key,) = lake.list_objects("raw/yahoo/symbol=AAPL/trade_date=2025-02-03")
    assert lake.get_object(key) == body
    stamp = lineage["fetched_at"][:19].replace("-", "").replace(":", "")
    assert key.split("/")[-1].startswith(stamp)  # the object is named by its fetch time

    (warning,) = [
        c for c in first.get_asset_check_evaluations() if c.check_name == "session_has_bars"
    ]
    assert not warning.passed and warning.severity == AssetCheckSeverity.WARN
    assert warning.metadata["failed_rows"].value == 1
    assert "AAPL|2025-02-03" in warning.metadata["detail"].value

    # "No data" for a session is not final: the next pull asks the vendor again. The same
    # empty answer stores nothing new (identical bytes) and warns again.
    second = _run(source, tmp_path / "lake", "2025-02-03", "AAPL")
    assert second.success
    (event,) = second.asset_materializations_for_node("raw_quotes")
    assert event.metadata["payloads_reused"].value == 0
    assert event.metadata["payloads_unchanged"].value == 1
    assert event.metadata["no_data"].value == ["AAPL|2025-02-03"]
    assert data_requests(httpserver) == ["/v8/finance/chart/AAPL"] * 2
    assert len(lake.list_objects("raw/yahoo/symbol=AAPL/trade_date=2025-02-03")) == 1


def test_a_partition_with_bars_is_not_fetched_again(httpserver: HTTPServer, tmp_path: Path) -> None:
    day = fixture_bytes("alphavantage/csv/time_series_intraday_5min_IBM_demo_2026-05-15.csv")
    header, *lines = day.splitlines(keepends=True)
    # The recorded IBM lines, moved to AAPL's 2025-02-03 regular session (14:40..20:55 UTC).
    moved = [b"2025-02-03" + line[10:] for line in lines if line[11:16] < b"16:00"]
    httpserver.expect_request("/query").respond_with_data(
        header + b"".join(moved), content_type="text/csv"
    )
    source = vendor_source(httpserver)
    assert _run(source, tmp_path / "lake", "2025-02-03", "AAPL").success
    second = _run(source, tmp_path / "lake", "2025-02-03", "AAPL")
    (event,) = second.asset_materializations_for_node("raw_quotes")
    assert event.metadata["payloads_reused"].value == 1
    assert data_requests(httpserver) == ["/query"]  # the quota is not spent twice


def test_premium_endpoint_fails_with_the_vendor_message_and_writes_nothing(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/query").respond_with_data(
        fixture_bytes("alphavantage/error_premium_endpoint_Information_2024_from_issue.json"),
        content_type="application/json",
    )
    result = _run(vendor_source(httpserver), tmp_path / "lake", "2025-02-03", "AAPL")
    assert not result.success
    (failure,) = result.get_step_failure_events()
    message = str(failure.event_specific_data.error)
    assert "VendorBadRequest" in message and "This is a premium endpoint" in message
    assert "not retried" in message
    assert ParquetLake(str(tmp_path / "lake")).list_objects("raw") == []
    assert len(httpserver.log) == 1


def test_invalid_payload_writes_nothing(httpserver: HTTPServer, tmp_path: Path) -> None:
    # A daily chart where a 1-minute chart was asked for: VendorPayloadInvalid, nothing stored.
    httpserver.expect_request("/v8/finance/chart/BTC-USD").respond_with_data(
        fixture_bytes("yahoo/chart_v8_BTC-USD_1d_body.json"), content_type="application/json"
    )
    source = vendor_source(httpserver, crypto_vendor="yahoo")
    result = _run(source, tmp_path / "lake", "2025-02-03", "BTC")
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "granularity '1d' is not intraday" in str(failure.event_specific_data.error)
    assert ParquetLake(str(tmp_path / "lake")).list_objects("raw") == []
