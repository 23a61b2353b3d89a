"""Per-partition metadata of a range run: each partition's own `dagster/row_count`, and the
`preview` of a small date-partitioned table on the run's latest date.

A run over a range of partitions (BackfillPolicy.single_run, the CLI's range runs) logs one
materialization per partition key, all carrying the metadata the asset returned; a row count
there would be the run's total copied onto every partition. Dagster's
`context.add_asset_metadata(..., partition_key=...)` gives a partition its own metadata, but
each call re-lists the run's whole partition range to validate the key and copies every entry
added so far: quadratic in the partitions (measured: 300 partitions 1.6 s, 1,200 partitions
20 s; a demo run has 3,450). `record_partition_rows` validates the keys once against the run's
partition keys and adds all of them to the step's metadata in one update, which Dagster then
merges into each partition's materialization exactly as it merges `add_asset_metadata`'s.
The run's total is the asset's `rows_in_run`. A range the Spark path computes (at least
`spark.min_partitions` partitions) gets the same per-partition counts: the Spark job counts the
rows of each partition as it writes it (nothing is read back) and reports them through Pipes in
the materialization's JSON entry PARTITION_ROWS, which `record_reported_rows` takes out of the
reported metadata and records as above.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue
from dagster._core.execution.context.metadata_logging import (
    AssetMetadataHandle,
    OutputMetadataAccumulator,
)

from fin_assets.shared.lake_io import PARTITION_ROWS, WrittenRows

ROW_COUNT = "dagster/row_count"
PREVIEW = "preview"
# Rows of a small table's preview (a Markdown table in the asset's materialization).
PREVIEW_ROWS = 20


def record_partition_rows(
    context: AssetExecutionContext, written: WrittenRows, asset_key: str | None = None
) -> None:
    """Give each partition of the run its own `dagster/row_count` (rows it holds now).

    `asset_key` names the asset in a multi-asset step. ValueError if a key is not one of the
    run's partitions.
    """
    rows = {partition: {ROW_COUNT: count} for partition, count in written.by_partition.items()}
    add_partition_metadata(context, rows, asset_key)


def record_latest_preview(
    context: AssetExecutionContext, frame: pd.DataFrame, asset_key: str | None = None
) -> None:
    """Give the run's latest date partition of a date-partitioned table a `preview` of that
    date's rows (at most PREVIEW_ROWS): the UI's sample of a small table, on one partition
    only, not copied onto every partition of a range run."""
    latest = max(context.partition_keys)
    rows = frame[frame["trade_date"].astype(str) == latest]
    add_partition_metadata(context, {latest: {PREVIEW: preview(rows)}}, asset_key)


def preview(frame: pd.DataFrame) -> MetadataValue:
    """A table's `preview` entry: its first PREVIEW_ROWS rows as a Markdown table."""
    return MetadataValue.md(frame.head(PREVIEW_ROWS).to_markdown(index=False))


def add_partition_metadata(
    context: AssetExecutionContext,
    by_partition: Mapping[str, Mapping[str, Any]],
    asset_key: str | None = None,
) -> None:
    """Add entries to the materializations of the run's partitions (see the module docstring).

    `asset_key` names the asset in a multi-asset step. ValueError if a key is not one of the
    run's partitions.
    """
    key = AssetKey(asset_key) if asset_key else context.assets_def.key
    targeted = set(context.partition_keys)
    outside = sorted(set(by_partition) - targeted)
    if outside:
        raise ValueError(f"metadata of partitions outside the run: {outside[:5]}")
    # Dagster's private step context (see the module docstring for why).
    step = context.op_execution_context._step_execution_context
    accumulated = step._metadata_accumulator
    previous = accumulated.per_output_metadata
    added = {}
    for partition, entries in by_partition.items():
        handle = AssetMetadataHandle(asset_key=key, partition_key=partition)
        added[handle] = {**previous.get(handle, {}), **entries}
    step._metadata_accumulator = OutputMetadataAccumulator(
        per_output_metadata={**previous, **added}
    )


def record_reported_rows(
    context: AssetExecutionContext, result: MaterializeResult
) -> MaterializeResult:
    """Record the per-partition rows a Spark job reported (entry PARTITION_ROWS of a Pipes
    materialization) as each partition's `dagster/row_count`; return the result without that
    entry. A result without it is returned as is."""
    metadata = dict(result.metadata or {})
    reported = metadata.pop(PARTITION_ROWS, None)
    if reported is None:
        return result
    rows = reported.value
    asset_key = result.asset_key.to_user_string() if result.asset_key else None
    record_partition_rows(context, WrittenRows({key: int(n) for key, n in rows.items()}), asset_key)
    return result._replace(metadata=metadata)
