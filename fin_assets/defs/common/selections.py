"""Asset selections the jobs are made of: groups narrowed to one partitions definition, minus
the freshness checks.

A job covers one partitions definition so one run can process a whole range; a domain's group
can hold assets of several (the risk group: per-symbol risk_metrics and the date-partitioned
portfolio), so a job selects its groups' assets of its partitions definition (`partitioned_as`).
No job runs the `freshness` checks (`without_freshness_checks`): their sensor evaluates them
(fin_assets.defs.operations.freshness), and a range run of old dates says nothing about
today's due data.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dagster import AssetCheckKey, AssetKey, AssetSelection, PartitionsDefinition

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph

FRESHNESS_CHECK = "freshness"


@dataclass(frozen=True)
class _PartitionedAs(AssetSelection):
    """The materializable assets whose partitions definition is `partitions_def` (None: the
    unpartitioned assets)."""

    partitions_def: PartitionsDefinition | None

    def resolve_inner(self, asset_graph: BaseAssetGraph, allow_missing: bool) -> Set[AssetKey]:
        return {
            key
            for key in asset_graph.materializable_asset_keys
            if asset_graph.get(key).partitions_def == self.partitions_def
        }


@dataclass(frozen=True)
class _ChecksNamed(AssetSelection):
    """Every asset check called `name`, of any asset (no asset)."""

    name: str

    def resolve_inner(self, asset_graph: BaseAssetGraph, allow_missing: bool) -> Set[AssetKey]:
        return set()

    def resolve_checks_inner(  # type: ignore[override]
        self, asset_graph: BaseAssetGraph, allow_missing: bool
    ) -> Set[AssetCheckKey]:
        return {key for key in asset_graph.asset_check_keys if key.name == self.name}

    def to_serializable_asset_selection(self, asset_graph: BaseAssetGraph) -> AssetSelection:
        return AssetSelection.checks(*self.resolve_checks(asset_graph))  # type: ignore[arg-type]


def partitioned_as(
    groups: tuple[str, ...], partitions_def: PartitionsDefinition | None
) -> AssetSelection:
    """The assets of `groups` whose partitions definition is `partitions_def`."""
    return AssetSelection.groups(*groups) & _PartitionedAs(partitions_def)


def without_freshness_checks(selection: AssetSelection) -> AssetSelection:
    """A job's selection without the `freshness` checks (module docstring)."""
    return selection - _ChecksNamed(FRESHNESS_CHECK)
