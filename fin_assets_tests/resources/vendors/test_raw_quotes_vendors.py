"""raw_quotes with the vendors source: lineage, reuse under quotas, typed failures, no writes."""

import hashlib
from datetime import date
from pathlib import Path

from dagster import ExecuteInProcessResult, MultiPartitionKey, materialize
from pytest_httpserver import HTTPServer

from fin_assets.defs.ingest import raw_quotes
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.storage import LakeResource
from fin_assets.resources.vendors.routing import VendorMarketSource
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
        [raw_quotes],
        partition_key=MultiPartitionKey({"date": day, "symbol": symbol}),
        resources={"market_data": source, "lake": LakeResource(root=str(lake_root))},
        raise_on_error=False,
    )


def test_lineage_then_reuse(httpserver: HTTPServer, tmp_path: Path) -> None:
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

    second = _run(source, tmp_path / "lake", "2025-02-03", "AAPL")
    assert second.success
    (event,) = second.asset_materializations_for_node("raw_quotes")
    assert event.metadata["payloads_reused"].value == 1
    assert data_requests(httpserver) == ["/v8/finance/chart/AAPL"]  # the quota is not spent twice


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
