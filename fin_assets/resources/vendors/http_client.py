"""HTTP GET against a vendor: rate limited, retried with backoff, classified into typed errors.

One VendorHttpClient per (vendor, key). Every attempt first counts against the request's attempt
budget (`budget`, shared with the step's retries: attempt_budget.py), takes a token from the
vendor's RateLimiter, then sends `GET base_url + path` with `requests`. Non-2xx answers become
typed errors by status (raise_for_status) with the vendor's message (`describe_error`); a 2xx
answer that is empty or an HTML page (a CDN or proxy page, not the API) is VendorUnavailable;
`check_body` finds the errors vendors send with HTTP 200 (see errors.py). The client retries
only retryable ones (VendorUnavailable, VendorQuotaExceeded with scope "minute"), at most
`max_attempts` times per call and never beyond the request's budget (then
VendorRetryBudgetSpent, chained to the last error, which no step retries), waiting the vendor's
`Retry-After` when it sent one (capped at `max_retry_after_seconds`, beyond which it gives up at
once) and otherwise exponential backoff with jitter:
`backoff_seconds * 2**retry + uniform(0, backoff_seconds)`, at most `backoff_max_seconds`.

Secrets never leave the client: `secret_params` are sent but left out of logs, errors and the
lineage parameters; headers (where CoinGecko's key goes) are never logged.

`mode` "record" archives every successful answer in `archive`; "replay" answers from the
archive without any HTTP call (see replay.py); "live" (default) does neither.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import requests
from requests.exceptions import ChunkedEncodingError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_any
from tenacity.wait import wait_exponential_jitter

from fin_assets.resources.vendors.attempt_budget import AttemptBudget
from fin_assets.resources.vendors.clock import Clock, SystemClock
from fin_assets.resources.vendors.errors import (
    VendorBadRequest,
    VendorError,
    VendorQuotaExceeded,
    VendorUnavailable,
)
from fin_assets.resources.vendors.rate_limit import RateLimiter

if TYPE_CHECKING:
    from fin_assets.resources.vendors.replay import ResponseArchive

logger = logging.getLogger("fin_assets.vendors")
MODES = ("live", "record", "replay")


@dataclass(frozen=True)
class VendorResponse:
    """One successful answer, as received, with its lineage (params exclude secrets)."""

    vendor: str
    endpoint: str
    params: Mapping[str, str]
    status: int
    content_type: str
    content: bytes
    fetched_at: datetime


# The vendor's message in an error body (for the typed error of a non-2xx answer).
DescribeError = Callable[[bytes], str]
# Raises the typed error a 2xx body stands for (Alpha Vantage answers throttling with HTTP 200).
CheckBody = Callable[[bytes], None]


def retry_after_seconds(headers: Mapping[str, str], now: datetime) -> float | None:
    """`Retry-After` in seconds (delta-seconds or HTTP-date form); `headers` ignore case."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


def raise_for_status(
    vendor: str, status: int, headers: Mapping[str, str], message: str, now: datetime
) -> None:
    """Raise the typed error of a non-2xx status: 429 quota, 408/5xx unavailable, else bad."""
    retry_after = retry_after_seconds(headers, now)
    text = f"HTTP {status}: {message}"
    if status == 429:
        raise VendorQuotaExceeded(vendor, text, scope="minute", retry_after_seconds=retry_after)
    if status == 408 or status >= 500:
        raise VendorUnavailable(vendor, text, retry_after_seconds=retry_after)
    raise VendorBadRequest(vendor, text)


def not_an_api_answer(content_type: str, content: bytes) -> str:
    """What a 2xx answer is when it cannot be the API's (empty, or an HTML page such as a CDN's
    or a proxy's error or challenge page: transient), else "". No vendor API answers HTML."""
    if not content.strip():
        return "an empty body"
    if "html" in content_type.lower() or content.lstrip()[:1] == b"<":
        start = content.lstrip()[:80].decode("utf-8", errors="replace")
        return f"an HTML page ({content_type or 'no content type'}: {start!r}), not the API"
    return ""


@dataclass
class VendorHttpClient:
    """GET requests to one vendor; see the module docstring for limits, retries and secrets."""

    vendor: str
    base_url: str
    limiter: RateLimiter
    describe_error: DescribeError
    check_body: CheckBody
    headers: Mapping[str, str] = field(default_factory=dict)
    secret_params: frozenset[str] = frozenset()
    timeout_seconds: float = 30.0
    max_attempts: int = 5
    backoff_seconds: float = 2.0
    backoff_max_seconds: float = 60.0
    max_retry_after_seconds: float = 120.0
    clock: Clock = field(default_factory=SystemClock)
    session: requests.Session = field(default_factory=requests.Session)
    mode: str = "live"
    archive: ResponseArchive | None = None
    budget: AttemptBudget | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.mode != "live" and self.archive is None:
            raise ValueError(f"mode {self.mode!r} needs an archive")

    def get(self, path: str, params: Mapping[str, str], endpoint: str) -> VendorResponse:
        """GET `path` with `params`; the answer, or the typed error of the last attempt."""
        if self.archive is not None and self.mode == "replay":
            return self.archive.load(self.vendor, endpoint, self.public_params(params))
        # The budget's key: the path (CoinGecko's coin id is in it) and the public parameters.
        request = f"GET {path}?{urlencode(sorted(self.public_params(params).items()))}"
        retrying = Retrying(
            stop=stop_any(stop_after_attempt(self.max_attempts), lambda _: self._spent(request)),
            wait=self._wait,
            retry=retry_if_exception(self._should_retry),
            sleep=self.clock.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            response = retrying(self._budgeted_attempt, request, path, params, endpoint)
        except VendorError as error:
            if error.retryable and self.budget is not None and self._spent(request):
                raise self.budget.spent_error(self.vendor, request) from error
            raise
        if self.archive is not None and self.mode == "record":
            self.archive.save(response)
        return response

    def public_params(self, params: Mapping[str, str]) -> dict[str, str]:
        """`params` without the secret ones: what logs, errors and lineage show."""
        return {k: v for k, v in params.items() if k not in self.secret_params}

    def _spent(self, request: str) -> bool:
        return self.budget is not None and self.budget.remaining(request) <= 0

    def _budgeted_attempt(
        self, request: str, path: str, params: Mapping[str, str], endpoint: str
    ) -> VendorResponse:
        if self.budget is None:
            return self._attempt(path, params, endpoint)
        self.budget.spend(self.vendor, request)
        try:
            return self._attempt(path, params, endpoint)
        except VendorError as error:
            self.budget.record_error(request, error)
            raise

    def _attempt(self, path: str, params: Mapping[str, str], endpoint: str) -> VendorResponse:
        self.limiter.acquire()
        url = f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"
        shown = f"{url}?{urlencode(self.public_params(params))}"
        try:
            response = self.session.get(
                url, params=dict(params), headers=dict(self.headers), timeout=self.timeout_seconds
            )
        except (requests.Timeout, requests.ConnectionError, ChunkedEncodingError) as error:
            # `from None`: requests' own message quotes the full URL, API key included.
            raise VendorUnavailable(self.vendor, f"{type(error).__name__} on GET {shown}") from None
        logger.info("%s GET %s -> HTTP %s", self.vendor, shown, response.status_code)
        if not 200 <= response.status_code < 300:
            message = self.describe_error(response.content)
            raise_for_status(
                self.vendor, response.status_code, response.headers, message, self.clock.now()
            )
        content_type = response.headers.get("Content-Type", "")
        page = not_an_api_answer(content_type, response.content)
        if page:
            raise VendorUnavailable(
                self.vendor, f"HTTP {response.status_code} with {page} on GET {shown}"
            )
        self.check_body(response.content)
        return VendorResponse(
            vendor=self.vendor,
            endpoint=endpoint,
            params=self.public_params(params),
            status=response.status_code,
            content_type=content_type,
            content=response.content,
            fetched_at=self.clock.now(),
        )

    def _should_retry(self, error: BaseException) -> bool:
        if not isinstance(error, VendorError) or not error.retryable:
            return False
        wait = getattr(error, "retry_after_seconds", None)
        return wait is None or wait <= self.max_retry_after_seconds

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        wait = getattr(error, "retry_after_seconds", None)
        if wait is not None:
            return float(wait)
        backoff = wait_exponential_jitter(
            multiplier=self.backoff_seconds,
            max=self.backoff_max_seconds,
            jitter=self.backoff_seconds,
        )
        return backoff(state)

    def _log_retry(self, state: RetryCallState) -> None:
        self.limiter.record_event("retry")
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "%s attempt %d of %d failed (%s); retrying in %.1f s",
            self.vendor,
            state.attempt_number,
            self.max_attempts,
            error,
            wait,
        )
