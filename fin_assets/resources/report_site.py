"""The market reports over HTTP, so that the Dagster UI can link them.

A browser refuses a `file://` link on an `http://` page (the Dagster UI), so the report's
materialization links `{base_url}/{key}`, and `fin-assets dev` serves the lake's `reports/`
keys at that address next to the webserver (`serve_reports`). The pages are read through
ParquetLake.get_object, so a lake on S3 is served the same way. Only GET of an existing key
under `reports/` answers 200; `/` lists the reports, newest first.
"""

from __future__ import annotations

import html
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from dagster import ConfigurableResource
from pydantic import Field

from fin_assets.resources.lake import ParquetLake

REPORTS_PREFIX = "reports"


class ReportSiteResource(ConfigurableResource):
    """Where the reports are served (FIN_REPORT_URL)."""

    base_url: str = Field(description="HTTP address serving the lake's reports/ keys")

    def url_for(self, key: str) -> str:
        """The address of the lake object `key` (under reports/)."""
        return f"{self.base_url.rstrip('/')}/{key}"


def _handler(lake: ParquetLake) -> type[BaseHTTPRequestHandler]:
    class ReportHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path).lstrip("/")
            if path == "":
                self._send(HTTPStatus.OK, _index(lake).encode())
                return
            parts = path.split("/")
            if parts[0] != REPORTS_PREFIX or any(p in ("", ".", "..") for p in parts):
                self._send(HTTPStatus.NOT_FOUND, b"not a report")
                return
            try:
                page = lake.get_object(path)
            except FileNotFoundError:
                self._send(HTTPStatus.NOT_FOUND, b"no such report")
                return
            self._send(HTTPStatus.OK, page)

        def _send(self, status: HTTPStatus, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the dev command's terminal shows Dagster's warnings only."""

    return ReportHandler


def _index(lake: ParquetLake) -> str:
    keys = sorted(lake.list_objects(REPORTS_PREFIX), reverse=True)
    items = "".join(f'<li><a href="/{html.escape(k)}">{html.escape(k)}</a></li>' for k in keys)
    return f"<!DOCTYPE html><html><body><h1>Reports</h1><ul>{items}</ul></body></html>"


def serve_reports(lake: ParquetLake, host: str, port: int) -> ThreadingHTTPServer:
    """Serve the lake's reports on host:port from a daemon thread; call `shutdown()` to stop."""
    server = ThreadingHTTPServer((host, port), _handler(lake))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="report-server", daemon=True).start()
    return server
