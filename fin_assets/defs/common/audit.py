"""Write-audit-publish inside a step: the blocking checks are evaluated on the data in memory,
and the lake is written only when they all pass (docs/reliability.md).

Dagster's blocking checks already stop every downstream step (and so the warehouse loads) when
they fail; what they cannot stop is the step's own write, which used to happen before its
checks. `publish_if_passed` closes that gap: the step computes its frame, evaluates its checks,
and raises BlockingCheckFailed — a `dagster.Failure` carrying every failed check's evidence —
before anything is written. A failing step therefore leaves its lake partitions exactly as they
were, and Dagster skips the steps that read them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import TypeVar

from dagster import AssetCheckResult, AssetCheckSeverity, Failure, MetadataValue

T = TypeVar("T")


class BlockingCheckFailed(Failure):
    """A blocking check failed on data a step was about to write; nothing was written."""


def publish_if_passed(
    checks: Sequence[AssetCheckResult], write: Callable[[], T]
) -> Generator[AssetCheckResult, None, T]:
    """Return `write()`'s result when no ERROR-severity check failed: the caller reports the
    checks with its materialization (defs/common/checks.py, with_run_checks). Otherwise yield the
    check results and raise BlockingCheckFailed naming the failed checks and their detail; `write`
    is never called. Use as `written = yield from publish_if_passed(checks, write)`."""
    failed = [c for c in checks if not c.passed and c.severity == AssetCheckSeverity.ERROR]
    if not failed:
        return write()
    yield from checks
    details = "; ".join(
        f"{check.check_name}: {check.metadata['detail'].value}"
        if "detail" in check.metadata
        else check.check_name
        for check in failed
    )
    raise BlockingCheckFailed(
        description=f"blocking checks failed before the write, nothing written: {details}",
        metadata={"failed_checks": MetadataValue.json([c.check_name for c in failed])},
        allow_retries=False,
    )
