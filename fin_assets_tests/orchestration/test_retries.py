"""Vendor retries: transient errors keep the RetryPolicy, every other error bypasses it."""

import pytest
from dagster import Backoff, Failure, Jitter

from fin_assets.definitions import defs
from fin_assets.defs.retries import VENDOR_RETRY_POLICY, retry_only_transient_vendor_errors
from fin_assets.resources.vendors.errors import (
    VendorBadRequest,
    VendorQuotaExceeded,
    VendorUnavailable,
)


def test_raw_quotes_retries_with_exponential_backoff_and_jitter() -> None:
    # raw_quotes is a graph: each vendor pool's fetch step carries the policy.
    policies = {
        op_def.name: op_def.retry_policy
        for op_def in defs.resolve_assets_def("raw_quotes").node_def.node_defs
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
