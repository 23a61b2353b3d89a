"""Vendor retries: transient errors keep the RetryPolicy, every other error bypasses it."""

import pytest
from dagster import Backoff, Failure, Jitter, RetryRequested

from fin_assets.definitions import defs
from fin_assets.defs.ingest.retries import (
    STEP_PATIENCE_SECONDS,
    VENDOR_RETRY_POLICY,
    retry_only_transient_vendor_errors,
)
from fin_assets.resources.vendors.errors import (
    VendorBadRequest,
    VendorPayloadInvalid,
    VendorQuotaExceeded,
    VendorUnavailable,
)


def test_raw_quotes_retries_with_exponential_backoff_and_jitter() -> None:
    # raw_quotes is a graph: each vendor pool's fetch step carries the policy.
    policies = {
        op_def.name: op_def.retry_policy
        for op_def in defs().resolve_assets_def("raw_quotes").node_def.node_defs
        if op_def.name.startswith("fetch_")
    }
    assert len(policies) == 4 and set(policies.values()) == {VENDOR_RETRY_POLICY}
    policy = policies["fetch_alpha_vantage"]
    assert (policy.max_retries, policy.delay) == (4, 15)
    assert (policy.backoff, policy.jitter) == (Backoff.EXPONENTIAL, Jitter.PLUS_MINUS)


@pytest.mark.parametrize(
    "error",
    [
        VendorUnavailable("yahoo", "HTTP 503 Service Unavailable"),
        VendorQuotaExceeded("alphavantage", "5 calls per minute", scope="minute"),
    ],
)
def test_transient_vendor_errors_pass_through_to_the_retry_policy(error: Exception) -> None:
    with pytest.raises(type(error)) as raised, retry_only_transient_vendor_errors():
        raise error
    assert raised.value is error


@pytest.mark.parametrize(
    "error",
    [
        VendorBadRequest("alphavantage", "Invalid API call"),
        VendorQuotaExceeded("alphavantage", "25 calls per day", scope="day"),
        ValueError("landing/AAPL/2025-01-02/x.csv: column close is missing"),
    ],
)
def test_other_errors_fail_without_retries(error: Exception) -> None:
    with pytest.raises(Failure) as raised, retry_only_transient_vendor_errors():
        raise error
    assert raised.value.allow_retries is False
    assert raised.value.__cause__ is error
    assert raised.value.description == f"{type(error).__name__}: {error} (not retried)"


def test_a_payload_refused_for_its_bars_fails_counting_them() -> None:
    """The count the exporter sums over failed runs (operations/step_refusals.py)."""
    refused = VendorPayloadInvalid("alphavantage", "2 bars beyond the tolerance", refused_bars=2)
    with pytest.raises(Failure) as raised, retry_only_transient_vendor_errors():
        raise refused
    assert raised.value.metadata["ohlc_refused"].value == 2


def test_the_steps_patience_is_the_policys_longest_wait() -> None:
    waits = [VENDOR_RETRY_POLICY.calculate_delay(n) for n in range(1, 5) for _ in range(200)]
    assert max(waits) <= STEP_PATIENCE_SECONDS == 240
    assert max(waits) > 225  # the fourth retry: 225 s ± 15 s


def test_a_vendor_retry_after_within_the_patience_is_the_steps_wait() -> None:
    error = VendorQuotaExceeded("alphavantage", "5 calls per minute", "minute", 60.0)
    with pytest.raises(RetryRequested) as raised, retry_only_transient_vendor_errors():
        raise error
    assert raised.value.seconds_to_wait == 60.0 and raised.value.max_retries == 4
    assert raised.value.__cause__ is error


@pytest.mark.parametrize(
    "error",
    [
        VendorQuotaExceeded("coingecko", "HTTP 429: slow down", "minute", 3600.0),
        VendorUnavailable("yahoo", "HTTP 503: maintenance", retry_after_seconds=241.0),
    ],
)
def test_a_retry_after_beyond_the_patience_fails_as_a_quota_error(error: Exception) -> None:
    with pytest.raises(Failure) as raised, retry_only_transient_vendor_errors():
        raise error
    assert raised.value.allow_retries is False
    assert raised.value.description.startswith(f"VendorQuotaExceeded: {error}; the vendor asks")
    assert "beyond the step's patience of 240 s (not retried)" in raised.value.description
