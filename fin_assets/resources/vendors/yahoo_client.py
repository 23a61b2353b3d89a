"""Yahoo Finance through yfinance: the chart request made by `yfinance.Ticker.history`.

yfinance makes the requests: Yahoo's cookie and crumb handshake, a browser TLS fingerprint
(curl_cffi impersonating Chrome), the chart URL and its parameters, its one re-request of an
answer >= 400 with the other cookie strategy, and whatever it changes when Yahoo changes. It is
given our session (its public `session` parameter), a `YahooSession`, which

- takes a token from the Yahoo limiter before every request (cookie, crumb, time-zone and chart
  requests alike: each is a call to Yahoo); its refusal (a spent budget), which yfinance would
  log and swallow, is raised by the connector as is;
- keeps every answer of the chart endpoint (`/v8/finance/chart/{ticker}`) as received: status,
  headers and bytes, with the query parameters that went on the wire;
- sends every request to `origin` instead of Yahoo's hosts when one is set (a recording proxy,
  or the tests' local server), keeping yfinance's path and query.

The payload is the chart answer's bytes as received, decoded by `yahoo.parse_chart_intraday`
like every stored payload (the raw layer is re-decoded offline, where yfinance cannot run);
yfinance's own DataFrame is not used. The answer of the attempt is the last chart answer
holding bars (`period1` set), or, when yfinance stopped before asking for bars, its time-zone
lookup (`range=1d`, made once per ticker and cached on disk by yfinance): its error becomes ours.
Typed errors come from that answer exactly as for the other vendors (`raise_for_status`,
`yahoo.check_body`); a transport failure is VendorUnavailable. Retries, their budget, replay
and record are VendorHttpClient's (`get`).

yfinance keeps, per process, one session (a singleton shared by every Ticker) and an in-memory
cache of the answers of past ranges keyed by URL, parameters and timeout, error answers
included. So attempts run one at a time per process (a lock), and each passes a timeout a few
milliseconds apart from the previous 127 attempts': a retry reaches Yahoo instead of replaying a
cached 503.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yfinance
from curl_cffi import requests as curl_requests
from requests.structures import CaseInsensitiveDict

from fin_assets.resources.vendors.errors import VendorQuotaExceeded, VendorUnavailable
from fin_assets.resources.vendors.http_client import (
    VendorHttpClient,
    VendorResponse,
    raise_for_status,
)
from fin_assets.resources.vendors.rate_limit import RateLimiter

logger = logging.getLogger("fin_assets.vendors")
CHART_PATH = "/v8/finance/chart/"
# The crumb is a session credential yfinance adds to every request: never in lineage or logs.
CREDENTIAL_PARAMS = frozenset({"crumb"})
# yfinance keeps one session per process: one attempt at a time, see the module docstring.
_YFINANCE_LOCK = threading.Lock()
_ATTEMPTS = itertools.count()
_TIMEOUT_STEPS = 128


@dataclass(frozen=True)
class ChartAnswer:
    """One chart request as it happened: the answer, or the transport error instead."""

    params: dict[str, str]
    status: int | None = None
    headers: CaseInsensitiveDict[str] = field(default_factory=CaseInsensitiveDict)
    content: bytes = b""
    error: Exception | None = None

    @property
    def asks_for_bars(self) -> bool:
        """The history request (a range of bars), not yfinance's time-zone lookup."""
        return "period1" in self.params


class YahooSession(curl_requests.Session):
    """The session yfinance sends Yahoo requests through; see the module docstring."""

    def __init__(self, limiter: RateLimiter, origin: str = "", **options: Any) -> None:
        super().__init__(impersonate="chrome", **options)
        self.limiter = limiter
        self.origin = urlsplit(origin) if origin else None
        self.chart_answers: list[ChartAnswer] = []
        self.refusal: VendorQuotaExceeded | None = None

    def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:
        """Take a limiter token, send (to `origin` when set), keep chart answers."""
        if self.origin is not None:
            target = urlsplit(url)
            url = target._replace(scheme=self.origin.scheme, netloc=self.origin.netloc).geturl()
        try:
            self.limiter.acquire()
        except VendorQuotaExceeded as refusal:
            self.refusal = refusal
            raise
        sent = {str(k): str(v) for k, v in (kwargs.get("params") or {}).items()}
        is_chart = urlsplit(url).path.startswith(CHART_PATH)
        try:
            response = super().request(method, url, *args, **kwargs)
        except curl_requests.RequestsError as error:
            if is_chart:
                self.chart_answers.append(ChartAnswer(sent, error=error))
            raise
        if is_chart:
            query = dict(parse_qsl(urlsplit(response.url).query, keep_blank_values=True))
            self.chart_answers.append(
                ChartAnswer(
                    params=query or sent,
                    status=response.status_code,
                    headers=CaseInsensitiveDict(response.headers.items()),
                    content=response.content,
                )
            )
        return response


@dataclass
class YahooChartClient(VendorHttpClient):
    """VendorHttpClient whose attempt is a yfinance history request (module docstring).

    `get(ticker, chart_params(...), "v8/finance/chart")`: `base_url` is the origin override
    (empty: Yahoo's own hosts); `headers` and `session` are unused (yfinance's request).
    """

    yahoo_session: YahooSession | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.yahoo_session is None:
            self.yahoo_session = YahooSession(self.limiter, self.base_url)

    def _attempt(self, path: str, params: Mapping[str, str], endpoint: str) -> VendorResponse:
        session = self.yahoo_session
        assert session is not None
        start = datetime.fromtimestamp(int(params["period1"]), UTC)
        end = datetime.fromtimestamp(int(params["period2"]), UTC)
        shown = f"{endpoint}/{path} {dict(self.public_params(params))}"
        timeout = self.timeout_seconds + (next(_ATTEMPTS) % _TIMEOUT_STEPS) / 1000
        with _YFINANCE_LOCK:
            session.chart_answers.clear()
            session.refusal = None
            ticker = yfinance.Ticker(path, session=session)
            try:
                ticker.history(
                    start=start,
                    end=end,
                    interval=params["interval"],
                    prepost=False,
                    actions=True,
                    auto_adjust=False,
                    repair=False,
                    timeout=timeout,
                )
            except Exception as error:  # yfinance's view of the answer; ours is below
                # Its type only: a transport error's text holds the URL, crumb included.
                logger.info("yahoo %s: yfinance raised %s", shown, type(error).__name__)
            answers, refusal = list(session.chart_answers), session.refusal
        if refusal is not None:
            raise refusal
        answer = next((a for a in reversed(answers) if a.asks_for_bars), None)
        if answer is None:
            # yfinance stopped before asking for bars: its time-zone lookup's error is ours.
            if answers:
                self._raise_for_answer(answers[-1], shown)
            raise VendorUnavailable(self.vendor, f"yfinance made no request for bars: {shown}")
        self._raise_for_answer(answer, shown)
        assert answer.status is not None
        sent = {k: v for k, v in answer.params.items() if k not in CREDENTIAL_PARAMS}
        if sent != dict(params):
            raise RuntimeError(
                f"yfinance {yfinance.__version__} sent {sent} for {path}, expected {dict(params)}: "
                "update yahoo.chart_params (replay keys and lineage follow it)"
            )
        return VendorResponse(
            vendor=self.vendor,
            endpoint=endpoint,
            params=self.public_params(params),
            status=answer.status,
            content_type=answer.headers.get("Content-Type", ""),
            content=answer.content,
            fetched_at=self.clock.now(),
        )

    def _raise_for_answer(self, answer: ChartAnswer, shown: str) -> None:
        """The typed error `answer` stands for, if any (as for every vendor)."""
        if answer.error is not None:
            # Not chained: the transport error's text holds the full URL, crumb included.
            raise VendorUnavailable(
                self.vendor, f"{type(answer.error).__name__} on GET {shown}"
            ) from None
        assert answer.status is not None
        logger.info("yahoo GET %s -> HTTP %s", shown, answer.status)
        if not 200 <= answer.status < 300:
            message = self.describe_error(answer.content)
            raise_for_status(self.vendor, answer.status, answer.headers, message, self.clock.now())
        self.check_body(answer.content)
