"""The report site serves the lake's reports over HTTP, and nothing else of the lake."""

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fin_assets.dev import DevOptions, run_dev
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.report_site import ReportSiteResource, serve_reports
from fin_assets.settings import Settings
from fin_assets.testing.ports import free_port

PAGE = b"<!DOCTYPE html><html><body>report</body></html>"
KEY = "reports/market_report/2025-01-14-0123456789abcdef.html"
# Never connected to: the command stops before it opens the instance.
UNUSED_PG_URL = "postgresql://postgres@127.0.0.1:5432/never_created"


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


def test_dev_refuses_a_taken_report_port_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        options = DevOptions(port=free_port(), report_port=port)

        status = run_dev(Settings.local(tmp_path, UNUSED_PG_URL), options)

    assert status == 2
    assert f"cannot serve the reports on 127.0.0.1:{port}" in capsys.readouterr().out
