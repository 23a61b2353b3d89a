"""Retries of vendor calls: transient errors retry the step with backoff, others stop it.

VENDOR_RETRY_POLICY is the RetryPolicy of each vendor pool's fetch step (the fetch_<vendor> ops
of raw_quotes, fin_assets.defs.ingest): up to 4 retries, 15 s doubling each time (15, 30, 60,
120 s), each delay randomly stretched or shrunk (Jitter.PLUS_MINUS) so the runs that failed
together do not hit the vendor together again. A retry re-runs the step over the run's whole
partition range for its symbols; that is safe because raw payloads are stored once per content
hash (fin_assets.defs.ingest.store_payload).

Only errors that retrying can fix are retried (`VendorError.retryable`: timeouts, connection
errors, HTTP 5xx, a per-minute throttle): `retry_only_transient_vendor_errors` turns every other
exception raised inside it (a bad request, a spent daily quota, an invalid payload, a rejected
landing file) into a Failure that bypasses the retry policy, chained to the original error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import Backoff, Failure, Jitter, RetryPolicy

from fin_assets.resources.vendors.errors import VendorError

VENDOR_RETRY_POLICY = RetryPolicy(
    max_retries=4, delay=15, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)


@contextmanager
def retry_only_transient_vendor_errors() -> Iterator[None]:
    """Let transient vendor errors through (retried); fail for good on any other exception."""
    try:
        yield
    except VendorError as error:
        if error.retryable:
            raise
        raise _final(error) from error
    except Failure:
        raise
    except Exception as error:
        raise _final(error) from error


def _final(error: Exception) -> Failure:
    description = f"{type(error).__name__}: {error} (not retried)"
    return Failure(description=description, allow_retries=False)
