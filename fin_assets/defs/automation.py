"""Declarative automation: every derived asset follows its upstream partitions by itself.

Only the roots are launched from outside (raw_quotes by the vendor-pull schedules and the
landing sensor, the dimensions by `reference_job`); every asset with dependencies carries
`follow_upstream()`, applied centrally by `with_automation` so the asset modules stay free of
orchestration policy, and the `fin_automation` sensor evaluates them.

Why not `AutomationCondition.eager()`: eager only considers the latest time window, so a day
that changes in the past (a late landing file, a vendor correction, a backfill) would update
neither that day's bars nor its look-back dependents. Indicators, anomalies and risk of date X
declare a dependency on the same symbol's daily bars of X-400..X (signals on indicators of
X-14..X), so a change of daily bars on day D makes every date D..D+400 of that symbol a
dependent with an updated dependency; `follow_upstream()` requests all of them (up to the
newest partition), for that symbol only, and nothing else. It waits while a dependency is
missing or in progress, and while the target itself is in progress.

The sensor emits its requests as backfills, so the assets' BackfillPolicy.single_run() turns
each tick's request into one run per asset range instead of one run per partition.
"""

from collections.abc import Sequence

from dagster import (
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    map_asset_specs,
)

# How often the automation sensor evaluates the conditions (Dagster's default is 30 s).
EVALUATION_INTERVAL_SECONDS = 10


def follow_upstream() -> AutomationCondition:
    """Request a partition when any dependency partition updated since it was last handled.

    `eager()` without its latest-time-window restriction and without requesting partitions
    that are merely missing: past partitions are reached through their dependencies' updates.
    """
    return (
        AutomationCondition.any_deps_updated().since_last_handled()
        & ~AutomationCondition.any_deps_missing()
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
    ).with_label("follow_upstream")


def _follow_if_derived(spec: AssetSpec) -> AssetSpec:
    if not spec.deps:
        return spec
    return spec.replace_attributes(automation_condition=follow_upstream())


def with_automation(
    assets: Sequence[AssetsDefinition | AssetSpec],
) -> Sequence[AssetsDefinition | AssetSpec]:
    """The assets with `follow_upstream()` on every asset that has dependencies."""
    return map_asset_specs(_follow_if_derived, assets)


automation_sensor = AutomationConditionSensorDefinition(
    "fin_automation",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=EVALUATION_INTERVAL_SECONDS,
    emit_backfills=True,
    description="Brings bars, analytics, risk and warehouse facts up to date with their inputs.",
)
