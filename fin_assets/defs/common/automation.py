"""Declarative automation: every derived asset follows its upstream partitions by itself.

Only the roots are launched from outside (raw_quotes by the vendor-pull schedules and the
landing sensor, the dimensions by `reference_job`); every asset with dependencies carries
`follow_upstream()`, applied centrally by `with_automation` so the asset modules stay free of
orchestration policy, and the `fin_automation` sensor evaluates them.

Why not `AutomationCondition.eager()`: eager only considers the latest time window, so a day
that changes in the past (a late landing file, a vendor correction, a backfill) would update
neither that day's bars nor its look-back dependents. Indicators, anomalies and risk of date X
read the same symbol's daily bars up to X (their look-back: X-400..X; signals the indicators
of X-14..X). Their declared dependencies are same-date, so that a backfill of a few dates
targets only them; `follow_lookback()` adds `LookbackUpdated`, which maps a change of daily
bars on day D to every date D..D+400 of that symbol (up to the newest partition), for that
symbol only, and nothing else. The conditions wait while a dependency or a look-back
partition (`LookbackMissing`) is missing, while a dependency is in progress, and while the
target itself is in progress. The sensor runs in the code server
(`use_user_code_server`), which evaluates this code location's own condition class.

A run's writes are staged and published only when the run succeeded (write-audit-publish,
fin_assets.defs.common.publish), but Dagster records each step's materialization when the step ends:
for Dagster the partition is then updated and no longer in progress, though readers still see
its value from before the run. So every condition also waits while a dependency or a look-back
partition was last materialized by a run that has not finished (`MaterializedUnpublished`);
the update is remembered (`since_last_handled`) and followed once that run is over.

The sensor emits its requests as backfills, so the assets' BackfillPolicy.single_run() turns
each tick's request into one run per asset range instead of one run per partition.
"""

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    AutomationContext,
    AutomationResult,
    BetaWarning,
    DagsterEventType,
    DefaultSensorStatus,
    RunsFilter,
    map_asset_specs,
)
from dagster._core.asset_graph_view.entity_subset import EntitySubset, _ValidatedEntitySubsetValue
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

from fin_assets.defs.common.partitions import LOOKBACK_DAYS, PREVIOUS_SESSION_DAYS, graph_partitions

# The look-backs of the history assets: each (date, symbol) is computed from its source's
# partitions of the same symbol over the previous `days` dates. Declared as dependencies they
# would make a UI backfill of a few dates add every downstream partition of the `days` dates
# after them (whose bars need not exist), so the dependencies stay same-date and automation
# follows the look-back through `LookbackUpdated`.
LOOKBACKS: dict[str, tuple[str, int]] = {
    "technical_indicators": ("daily_bars", LOOKBACK_DAYS),
    "anomalies": ("daily_bars", LOOKBACK_DAYS),
    "risk_metrics": ("daily_bars", LOOKBACK_DAYS),
    "trading_signals": ("technical_indicators", PREVIOUS_SESSION_DAYS),
}

# How often the automation sensor evaluates the conditions (Dagster's default is 30 s).
EVALUATION_INTERVAL_SECONDS = 10


@dataclass(frozen=True)
class MaterializedUnpublished(AutomationCondition[AssetKey]):
    """True for the partitions that a run which has not finished materialized: its writes are
    staged until the run succeeds, so readers still see the values from before it (module
    docstring). Few runs are in progress at a time: their materialization events are read."""

    @property
    def name(self) -> str:
        return "materialized_unpublished"

    @property
    def description(self) -> str:
        return "materialized by a run that has not finished (its writes are not published yet)"

    async def evaluate(self, context: AutomationContext) -> AutomationResult:  # ty: ignore[invalid-method-override]
        if context.candidate_subset.is_empty:  # nothing to ask about: no query
            return AutomationResult(context=context, true_subset=context.get_empty_subset())
        view = context.asset_graph_view
        instance = view.instance
        partitions = set()
        for run in instance.get_runs(RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES)):
            records = instance.get_records_for_run(
                run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
            ).records
            for record in records:
                event = record.event_log_entry.dagster_event
                if event is not None and event.asset_key == context.key and event.partition:
                    partitions.add(AssetKeyPartitionKey(context.key, event.partition))
        unpublished = view.get_asset_subset_from_asset_partitions(
            key=context.key, asset_partitions=partitions
        )
        true_subset = context.candidate_subset.compute_intersection(unpublished)
        return AutomationResult(context=context, true_subset=true_subset)


def _deps_unpublished() -> AutomationCondition:
    return AutomationCondition.any_deps_match(MaterializedUnpublished())


def follow_upstream() -> AutomationCondition:
    """Request a partition when any dependency partition updated since it was last handled.

    `eager()` without its latest-time-window restriction and without requesting partitions
    that are merely missing: past partitions are reached through their dependencies' updates.
    Waits while a dependency's update is not published yet (module docstring).
    """
    return (
        AutomationCondition.any_deps_updated().since_last_handled()
        & ~AutomationCondition.any_deps_missing()
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
        & ~_deps_unpublished()
    ).with_label("follow_upstream")


@dataclass(frozen=True)
class LookbackCondition(AutomationCondition[AssetKey]):
    """True for a (date X, symbol) partition when `source`'s partition of that symbol on some
    date in [X - days, X] meets `of_source()`: the look-back of
    `GraphPartitions.lookback_mapping(days)`, followed without declaring it."""

    source: str
    days: int

    def of_source(self) -> AutomationCondition:
        raise NotImplementedError

    async def evaluate(self, context: AutomationContext) -> AutomationResult:  # ty: ignore[invalid-method-override]
        view = context.asset_graph_view
        graph = view.asset_graph
        source = AssetKey(self.source)
        mapping = graph_partitions().lookback_mapping(self.days)
        target_def = graph.get(context.key).partitions_def
        source_def = graph.get(source).partitions_def
        upstream = mapping.get_upstream_mapped_partitions_result_for_partitions(
            context.candidate_subset.get_internal_subset_value(), target_def, source_def
        ).partitions_subset
        child = context.for_child_condition(
            child_condition=self.of_source(),
            child_indices=[0],
            candidate_subset=EntitySubset(
                view, key=source, value=_ValidatedEntitySubsetValue(upstream)
            ),
        )
        result = await child.evaluate_async()
        downstream = mapping.get_downstream_partitions_for_partitions(
            result.true_subset.get_internal_subset_value(), source_def, target_def
        )
        true_subset = EntitySubset(
            view, key=context.key, value=_ValidatedEntitySubsetValue(downstream)
        ).compute_intersection(context.candidate_subset)
        return AutomationResult(context=context, true_subset=true_subset, child_results=[result])


@dataclass(frozen=True)
class LookbackUpdated(LookbackCondition):
    """A source partition in the look-back updated since the previous evaluation (not by a run
    that also targets the partition)."""

    @property
    def name(self) -> str:
        return f"lookback_updated({self.source}, {self.days} days)"

    @property
    def description(self) -> str:
        return f"{self.source} updated within the {self.days} dates before"

    def of_source(self) -> AutomationCondition:
        return (
            AutomationCondition.newly_updated() & ~AutomationCondition.executed_with_root_target()
        )


@dataclass(frozen=True)
class LookbackMissing(LookbackCondition):
    """A source partition in the look-back was never materialized: the partition's history
    cannot be read yet, so it waits (as `any_deps_missing` waits for a declared dependency)
    instead of running and failing; the history's arrival updates the look-back."""

    @property
    def name(self) -> str:
        return f"lookback_missing({self.source}, {self.days} days)"

    @property
    def description(self) -> str:
        return f"{self.source} missing within the {self.days} dates before"

    def of_source(self) -> AutomationCondition:
        return AutomationCondition.missing()


@dataclass(frozen=True)
class LookbackUnpublished(LookbackCondition):
    """A source partition in the look-back was materialized by a run that has not finished."""

    @property
    def name(self) -> str:
        return f"lookback_unpublished({self.source}, {self.days} days)"

    @property
    def description(self) -> str:
        return f"{self.source} within the {self.days} dates before is not published yet"

    def of_source(self) -> AutomationCondition:
        return MaterializedUnpublished()


def follow_lookback(source: str, days: int) -> AutomationCondition:
    """`follow_upstream()`, also requested when the source updated within the look-back, and
    waiting while a source partition of the look-back is missing or not published yet."""
    return (
        (
            AutomationCondition.any_deps_updated() | LookbackUpdated(source, days)
        ).since_last_handled()
        & ~AutomationCondition.any_deps_missing()
        & ~LookbackMissing(source, days)
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
        & ~_deps_unpublished()
        & ~LookbackUnpublished(source, days)
    ).with_label("follow_upstream_and_lookback")


def _follow_if_derived(spec: AssetSpec) -> AssetSpec:
    if not spec.deps:
        return spec
    name = spec.key.to_user_string()
    condition = follow_lookback(*LOOKBACKS[name]) if name in LOOKBACKS else follow_upstream()
    return spec.replace_attributes(automation_condition=condition)


def with_automation(
    assets: Sequence[AssetsDefinition | AssetSpec],
) -> Sequence[AssetsDefinition | AssetSpec]:
    """The assets with `follow_upstream()` on every asset that has dependencies."""
    return map_asset_specs(_follow_if_derived, assets)


with warnings.catch_warnings():
    warnings.simplefilter("ignore", BetaWarning)
    # Evaluated in the code server: LookbackUpdated is a condition of this code location.
    automation_sensor = AutomationConditionSensorDefinition(
        "fin_automation",
        target=AssetSelection.all(),
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=EVALUATION_INTERVAL_SECONDS,
        emit_backfills=True,
        use_user_code_server=True,
        description="Brings bars, analytics, risk and warehouse facts up to date with their "
        "inputs.",
    )
