"""The vendors source over real HTTP: routing, per-session payloads, validation, record/replay."""

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.market_data import decode_payload
from fin_assets.resources.vendors import alphavantage, yahoo
from fin_assets.resources.vendors.errors import VendorPayloadInvalid
from fin_assets.resources.vendors.replay import ResponseArchive, VendorRecordingMissing
from fin_assets.resources.vendors.routing import VendorMarketSource
from fin_assets.universe import Symbol, load_universe
from fin_assets_tests.resources.vendors.conftest import (
    AAPL_2025_02_03,
    fixture_bytes,
    serve_yahoo_empty_day,
    vendor_source,
)

UNIVERSE = {s.symbol: s for s in load_universe()}
IBM = Symbol(
    symbol="IBM",
    name="International Business Machines",
    asset_class="equity",
    exchange="XNYS",
    calendar="XNYS",
    currency="USD",
    timezone="America/New_York",
    sector="Information Technology",
    vendor_ids={"alphavantage": "IBM", "coingecko": None, "yahoo": "IBM"},
)


def test_routing_by_asset_class() -> None:
    source = VendorMarketSource()
    assert source.vendor_for(UNIVERSE["AAPL"]) == "alphavantage"
    assert source.vendor_for(UNIVERSE["SPY"]) == "alphavantage"
    assert source.vendor_for(UNIVERSE["BTC"]) == "coingecko"
    switched = VendorMarketSource(equity_vendor="yahoo", crypto_vendor="yahoo")
    assert {switched.vendor_for(s) for s in UNIVERSE.values()} == {"yahoo"}
    with pytest.raises(ValueError, match="crypto vendor must be one of"):
        VendorMarketSource(crypto_vendor="alphavantage").vendor_for(UNIVERSE["ETH"])


def test_no_session_makes_no_call(httpserver: HTTPServer) -> None:
    source = vendor_source(httpserver)
    assert source.fetch_intraday(UNIVERSE["AAPL"], date(2025, 2, 1)) is None  # a Saturday
    assert source.fetch_intraday(UNIVERSE["AAPL"], date(2025, 1, 1)) is None  # New Year's Day
    assert httpserver.log == []


def test_alphavantage_month_is_fetched_once_and_cut_per_session(httpserver: HTTPServer) -> None:
    body = fixture_bytes("alphavantage/csv/time_series_intraday_5min_IBM_demo_2026-05-15.csv")
    params = alphavantage.intraday_params("IBM", "2026-05", "1min", False, "csv")
    httpserver.expect_request(
        "/query", query_string={**params, "apikey": "av-key"}
    ).respond_with_data(body, content_type="text/csv")
    source = vendor_source(httpserver)
    quiet = source.fetch_intraday(IBM, date(2026, 5, 14))
    assert quiet is not None
    # The response holds no line of 2026-05-14: an empty session payload, not a failure.
    assert quiet.content == b"timestamp,open,high,low,close,volume\n"
    assert decode_payload("alphavantage", quiet.content).empty and quiet.bar_count == 0
    assert (quiet.vendor, quiet.endpoint, quiet.extension) == (
        "alphavantage",
        "TIME_SERIES_INTRADAY",
        "csv",
    )
    assert quiet.params == {
        **params,
        "trade_date": "2026-05-14",
        "response_sha256": hashlib.sha256(body).hexdigest(),
    }
    # 2026-05-15 comes from the same response (no second call). That body holds extended-hours
    # bars although regular hours were asked: the 48 five-minute bars 16:00..19:55 EDT are
    # outside the session, so the payload is rejected, not stored.
    with pytest.raises(VendorPayloadInvalid, match=r"48 of 100 bars for IBM on 2026-05-15"):
        source.fetch_intraday(IBM, date(2026, 5, 15))
    assert len(httpserver.log) == 1


def test_yahoo_session_request_and_payload(httpserver: HTTPServer) -> None:
    body = serve_yahoo_empty_day(httpserver)
    payload = vendor_source(httpserver, equity_vendor="yahoo").fetch_intraday(
        UNIVERSE["AAPL"], date(2025, 2, 3)
    )
    assert payload is not None and payload.content == body
    assert payload.vendor == "yahoo" and payload.endpoint == "v8/finance/chart"
    # Lineage: the query yfinance sent, without its crumb, plus the session and the hash.
    assert payload.params == {
        **yahoo.chart_params(*AAPL_2025_02_03, "1m"),
        "trade_date": "2025-02-03",
        "response_sha256": hashlib.sha256(body).hexdigest(),
    }
    assert payload.params["period1"] == "1738593000"


def test_coingecko_day_request_and_out_of_day_points(httpserver: HTTPServer) -> None:
    # The recorded chart runs 2023-03-14 23:21 to 2023-03-15 23:20 UTC: asked for the UTC day
    # 2023-03-15, its 9 points of the 14th make it an invalid payload for that day.
    httpserver.expect_request(
        "/coins/bitcoin/market_chart/range",
        query_string={"vs_currency": "usd", "from": "1678838400", "to": "1678924799"},
        headers={"x-cg-demo-api-key": "cg-key"},
    ).respond_with_data(
        fixture_bytes("coingecko/coins_id_market_chart_pretty.json"),
        content_type="application/json",
    )
    with pytest.raises(VendorPayloadInvalid, match=r"9 of 289 bars for BTC on 2023-03-15"):
        vendor_source(httpserver).fetch_intraday(UNIVERSE["BTC"], date(2023, 3, 15))
    assert len(httpserver.log) == 1


def test_coingecko_pro_plan_sends_the_pro_header(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/coins/bitcoin/market_chart/range", headers={"x-cg-pro-api-key": "cg-key"}
    ).respond_with_data(b'{"prices":[],"market_caps":[],"total_volumes":[]}')
    payload = vendor_source(httpserver, coingecko_plan="pro").fetch_intraday(
        UNIVERSE["BTC"], date(2025, 3, 1)
    )
    assert payload is not None and decode_payload("coingecko", payload.content).empty


def test_record_then_replay_offline(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = serve_yahoo_empty_day(httpserver)
    lake_root = str(tmp_path / "lake")
    recorder = vendor_source(
        httpserver, equity_vendor="yahoo", mode="record", archive_root=lake_root
    )
    recorded = recorder.fetch_intraday(UNIVERSE["AAPL"], date(2025, 2, 3))
    keys = ParquetLake(lake_root).list_objects("raw/_responses/yahoo")
    assert len(keys) == 2 and keys[0].endswith(".body") and keys[1].endswith(".meta.json")
    assert ParquetLake(lake_root).get_object(keys[0]) == body

    httpserver.clear()  # nothing answers any more: replay must not call HTTP
    replayer = vendor_source(
        httpserver, equity_vendor="yahoo", mode="replay", archive_root=lake_root
    )
    replayed = replayer.fetch_intraday(UNIVERSE["AAPL"], date(2025, 2, 3))
    assert replayed == recorded
    assert httpserver.log == []
    with pytest.raises(VendorRecordingMissing, match="no recorded answer for v8/finance/chart"):
        replayer.fetch_intraday(UNIVERSE["AAPL"], date(2025, 2, 4))


def test_archive_keeps_identical_answers_once(tmp_path: Path, httpserver: HTTPServer) -> None:
    serve_yahoo_empty_day(httpserver)
    lake = ParquetLake(str(tmp_path / "lake"))
    source = vendor_source(httpserver, equity_vendor="yahoo")
    response = yahoo.chart(source._client("yahoo"), "AAPL", *AAPL_2025_02_03, "1m")
    archive = ResponseArchive(lake)
    assert archive.save(response) == archive.save(response)
    assert len(lake.list_objects("raw/_responses")) == 2


def test_alphavantage_regular_hours_session(httpserver: HTTPServer) -> None:
    # The recorded answer's header and regular-hours lines (lines unchanged): what the same
    # request with extended_hours=false returns.
    recorded = fixture_bytes("alphavantage/csv/time_series_intraday_5min_IBM_demo_2026-05-15.csv")
    header, *lines = recorded.splitlines(keepends=True)
    regular = header + b"".join(line for line in lines if line[11:16] < b"16:00")
    httpserver.expect_request("/query").respond_with_data(regular, content_type="text/csv")
    payload = vendor_source(httpserver).fetch_intraday(IBM, date(2026, 5, 15))
    assert payload is not None and payload.content == regular
    assert payload.bar_count == 52  # 11:40 to 15:55 EDT every 5 minutes
    bars = decode_payload("alphavantage", payload.content)
    assert bars["ts"].iloc[0] == pd.Timestamp("2026-05-15 15:40", tz="UTC")
    assert bars["ts"].iloc[-1] == pd.Timestamp("2026-05-15 19:55", tz="UTC")


def test_a_payload_with_a_bar_beyond_the_ohlc_tolerance_is_not_stored(
    httpserver: HTTPServer,
) -> None:
    recorded = fixture_bytes("alphavantage/csv/time_series_intraday_5min_IBM_demo_2026-05-15.csv")
    header, *lines = recorded.splitlines(keepends=True)
    regular = [line for line in lines if line[11:16] < b"16:00"]
    # The 15:55 bar's high 1 % below its own open: beyond the 0.5 % that repair covers.
    stamp, open_, _high, low, close, volume = regular[0].decode().strip().split(",")
    broken = f"{stamp},{open_},{float(open_) * 0.99:.4f},{low},{close},{volume}\r\n".encode()
    httpserver.expect_request("/query").respond_with_data(
        header + broken + b"".join(regular[1:]), content_type="text/csv"
    )
    with pytest.raises(
        VendorPayloadInvalid,
        match=r"1 bars for IBM on 2026-05-15 have high/low missing open/close by more than 0.5%: "
        r"2026-05-15T19:55:00\+00:00",
    ) as raised:
        vendor_source(httpserver).fetch_intraday(IBM, date(2026, 5, 15))
    assert raised.value.refused_bars == 1
