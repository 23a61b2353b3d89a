"""The graph's assets for tests that materialize a few of them: the defs modules hold the
asset functions, decorated when the definitions are built (fin_assets.definitions), so a test
takes the assets from the graph built on the process's partitions."""

from __future__ import annotations

from dagster import AssetKey, AssetsDefinition

from fin_assets.definitions import graph_definitions
from fin_assets.defs.common.partitions import graph_partitions


def asset_def(name: str) -> AssetsDefinition:
    """The AssetsDefinition computing asset `name` (the multi-asset for one of its keys)."""
    for assets_def in graph_definitions(graph_partitions()).assets or []:
        if isinstance(assets_def, AssetsDefinition) and AssetKey(name) in assets_def.keys:
            return assets_def
    raise KeyError(f"no asset {name}")
