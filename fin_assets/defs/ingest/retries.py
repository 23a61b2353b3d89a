"""Retries of vendor calls: transient errors retry the step with backoff, others stop it.

VENDOR_RETRY_POLICY is the RetryPolicy of each vendor pool's fetch step (the fetch_<vendor> ops
of raw_quotes, fin_assets.defs.ingest.raw_quotes): up to 4 retries, after 15, 45, 105 and 225 s
(Dagster's exponential backoff: (2**n - 1) × 15 s), each shifted by up to ±15 s (Jitter.PLUS_MINUS)
so the runs that failed together do not hit the vendor together again. A retry re-runs the step over
the run's whole partition range for its symbols; that is safe because raw payloads are stored
once per content hash (fin_assets.defs.ingest.raw_quotes.store_payload), and cheap because
partitions that already have a payload with bars are not fetched again. Every call of a request, by
the client or after a step retry, counts against one budget per request and run
(resources/vendors/attempt_budget.py): a request whose budget is spent fails for good.

Only errors that retrying can fix are retried (`VendorError.retryable`: timeouts, connection
errors, HTTP 5xx, CDN pages, a per-minute throttle): `retry_only_transient_vendor_errors` turns
every other exception raised inside it (a bad request, a spent daily quota or retry budget, an
invalid payload, a rejected landing file) into a Failure that bypasses the retry policy, chained
to the original error. A transient error carrying the vendor's `Retry-After` is retried after
exactly that wait (RetryRequested) when it is within STEP_PATIENCE_SECONDS, the longest wait of
the policy; a longer one fails at once as a quota error: no retry of the step can succeed
before the vendor allows it, and each would spend a call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import Backoff, Failure, Jitter, MetadataValue, RetryPolicy, RetryRequested

from fin_assets.resources.vendors.errors import VendorError, VendorQuotaExceeded

VENDOR_RETRY_POLICY = RetryPolicy(
    max_retries=4, delay=15, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)
# The longest wait before a retry of the policy: (2**4 - 1) × 15 s + 15 s of jitter.
STEP_PATIENCE_SECONDS = (2**VENDOR_RETRY_POLICY.max_retries - 1) * 15 + 15


@contextmanager
def retry_only_transient_vendor_errors() -> Iterator[None]:
    """Let transient vendor errors through (retried); fail for good on any other exception."""
    try:
        yield
    except VendorError as error:
        if not error.retryable:
            raise _final(error) from error
        wait = getattr(error, "retry_after_seconds", None)
        if wait is None:
            raise
        if wait > STEP_PATIENCE_SECONDS:
            quota = VendorQuotaExceeded(
                error.vendor,
                f"{error.vendor_message}; the vendor asks to wait {wait:.0f} s, beyond the "
                f"step's patience of {STEP_PATIENCE_SECONDS} s",
                scope="day",
                retry_after_seconds=wait,
            )
            raise _final(quota) from error
        raise RetryRequested(
            max_retries=VENDOR_RETRY_POLICY.max_retries, seconds_to_wait=wait
        ) from error
    except Failure:
        raise
    except Exception as error:
        raise _final(error) from error


def _final(error: Exception) -> Failure:
    """A Failure that is not retried; a payload refused for its bars counts them in the
    metadata entry `ohlc_refused` (as intraday_bars' refusals do: operations/step_refusals.py)."""
    description = f"{type(error).__name__}: {error} (not retried)"
    refused = getattr(error, "refused_bars", 0)
    metadata = {"ohlc_refused": MetadataValue.int(refused)} if refused else None
    return Failure(description=description, allow_retries=False, metadata=metadata)
