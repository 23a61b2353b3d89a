"""Turning the analytics quality rules into Dagster asset check specs and results."""

from __future__ import annotations

from collections.abc import Sequence

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, MetadataValue

from fin_assets.analytics.quality import RuleResult


def check_specs(
    asset: str, blocking: Sequence[str] = (), warning: Sequence[str] = ()
) -> list[AssetCheckSpec]:
    """Specs of an asset's checks: blocking ones stop downstream assets when they fail."""
    return [AssetCheckSpec(name, asset=AssetKey(asset), blocking=True) for name in blocking] + [
        AssetCheckSpec(name, asset=AssetKey(asset), blocking=False) for name in warning
    ]


def check_result(
    name: str,
    result: RuleResult,
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
    asset: str | None = None,
) -> AssetCheckResult:
    """The result of check `name` from a quality rule's result, with its evidence as metadata."""
    metadata = {
        "checked_rows": MetadataValue.int(result.checked_rows),
        "failed_rows": MetadataValue.int(result.failed_rows),
        "detail": MetadataValue.text(result.detail),
    }
    if not result.sample.empty:
        metadata["sample"] = MetadataValue.md(result.sample.head(20).to_markdown(index=False))
    return AssetCheckResult(
        check_name=name,
        asset_key=asset,
        passed=result.passed,
        severity=severity,
        metadata=metadata,
    )
