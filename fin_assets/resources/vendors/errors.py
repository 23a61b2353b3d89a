"""Typed vendor errors: what went wrong, whether retrying can help, and the vendor's own words.

Every error carries the vendor name and the vendor's message (the JSON `Note`, `Information`,
`Error Message`, `error_message` or `description` text, or the HTTP status line), so the Dagster
UI shows why a fetch failed. Secrets never appear in messages: connectors build them from
request parameters with the API key removed.

- VendorUnavailable: timeouts, connection errors, HTTP 5xx, an empty or HTML answer with a 2xx
  status (a CDN or proxy page, not the API). Transient: retried with backoff.
- VendorQuotaExceeded: a throttle answer (HTTP 429, Alpha Vantage's HTTP 200 `Note`) or the
  local limiter's daily budget. `scope` is "minute" (wait `retry_after_seconds` and retry) or
  "day" (stop: retrying today only burns more of the quota; also a `Retry-After` longer than
  the step's retries wait, fin_assets.defs.ingest.retries).
- VendorRetryBudgetSpent (attempt_budget.py): a request used its attempts of the run. Never
  retried.
- VendorBadRequest: bad symbol, parameters, key or plan (Alpha Vantage `Error Message`,
  premium-only endpoints, HTTP 4xx other than 429). Never retried.
- VendorPayloadInvalid: a body that does not parse into the documented shape. Never retried.
"""

from __future__ import annotations

QUOTA_SCOPES = ("minute", "day")


class VendorError(Exception):
    """Base of every vendor failure; `retryable` says whether trying again can succeed."""

    retryable = False

    def __init__(self, vendor: str, message: str) -> None:
        super().__init__(f"{vendor}: {message}")
        self.vendor = vendor
        self.vendor_message = message


class VendorUnavailable(VendorError):
    """The vendor could not answer (timeout, connection error, HTTP 5xx)."""

    retryable = True

    def __init__(self, vendor: str, message: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(vendor, message)
        self.retry_after_seconds = retry_after_seconds


class VendorQuotaExceeded(VendorError):
    """The vendor (or the local limiter) refused the call for quota; see the module docstring."""

    def __init__(
        self, vendor: str, message: str, scope: str, retry_after_seconds: float | None = None
    ) -> None:
        if scope not in QUOTA_SCOPES:
            raise ValueError(f"quota scope must be one of {QUOTA_SCOPES}, got {scope!r}")
        super().__init__(vendor, message)
        self.scope = scope
        self.retry_after_seconds = retry_after_seconds

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return self.scope == "minute"


class VendorBadRequest(VendorError):
    """The request itself is wrong for this vendor (symbol, parameters, key, plan)."""


class VendorPayloadInvalid(VendorError):
    """The response body is not the documented shape (truncated, wrong types, bad numbers);
    `refused_bars` counts its bars refused by the OHLC tolerance when that is the reason."""

    def __init__(self, vendor: str, message: str, refused_bars: int = 0) -> None:
        super().__init__(vendor, message)
        self.refused_bars = refused_bars
