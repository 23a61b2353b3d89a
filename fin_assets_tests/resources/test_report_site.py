"""The report site serves the lake's reports over HTTP, and nothing else of the lake."""

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.report_site import ReportSiteResource, serve_reports
from fin_assets_tests.ports import free_port

PAGE = b"<!DOCTYPE html><html><body>report</body></html>"
KEY = "reports/market_report/2025-01-14-0123456789abcdef.html"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    lake = ParquetLake(str(tmp_path / "lake"))
    lake.put_object(KEY, PAGE)
    lake.put_object("raw/offline/symbol=AAPL/trade_date=2025-01-02/x.json", b"{}")
    port = free_port()
    server = serve_reports(lake, "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_reports_url_serves_the_page(site: str) -> None:
    url = ReportSiteResource(base_url=site + "/").url_for(KEY)

    assert url == f"{site}/{KEY}"
    assert get(url) == (200, PAGE)
    status, index = get(site + "/")
    assert status == 200 and f'href="/{KEY}"'.encode() in index


def test_other_lake_objects_and_missing_reports_are_not_found(site: str) -> None:
    assert get(f"{site}/raw/offline/symbol=AAPL/trade_date=2025-01-02/x.json")[0] == 404
    assert get(f"{site}/reports/../raw/offline/symbol=AAPL/trade_date=2025-01-02/x.json")[0] == 404
    assert get(f"{site}/reports/market_report/missing.html")[0] == 404
