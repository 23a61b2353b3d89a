"""The CLI's backfills as Dagster backfill records, listed on the UI's Backfills page.

A `fin-assets demo` or `backfill` plans its own range runs (fin_assets.runner), so its record
is an asset backfill whose target is exactly the asset partitions those runs cover, saved
before the first run with every target partition already requested (and the event-log cursor
at the newest event): a daemon that evaluates it (`fin-assets dev` running alongside) finds
nothing to launch and only follows the runs, as for a UI backfill whose runs are submitted.
Each run carries the backfill's id (`dagster/backfill`), which is how Dagster attributes
materializations and failures to it. When the runs are over, `finish_backfill` records the
materialized and failed partitions and the final status (see there).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from dagster import DagsterInstance, PartitionKeyRange
from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView, TemporalContext
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
from dagster._core.execution.asset_backfill import execute_asset_backfill_iteration
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.workspace.context import WorkspaceProcessContext

from fin_assets.defs.common.partition_ranges import RANGE_END_TAG, RANGE_START_TAG

# Evaluations of a finished backfill before giving up on a final status: the first records what
# the runs materialized; a partition left without status is marked failed by the next one.
MAX_FINAL_EVALUATIONS = 3
logger = logging.getLogger(__name__)


def run_target(view: AssetGraphView, job_name: str, tags: Mapping[str, str]) -> AssetGraphSubset:
    """The asset partitions a run of `job_name` with `tags` materializes: every asset of the job,
    over the run's partition range when it has one (the whole asset otherwise)."""
    graph = view.asset_graph
    keys = [key for key in graph.asset_keys_for_job(job_name) if graph.get(key).is_materializable]
    if RANGE_START_TAG in tags:
        span = PartitionKeyRange(tags[RANGE_START_TAG], tags[RANGE_END_TAG])
        subsets = [view.get_entity_subset_in_range(key, span) for key in keys]
    else:
        subsets = [view.get_full_subset(key=key) for key in keys]
    return AssetGraphSubset.from_entity_subsets(subsets)


def add_backfill(
    process_context: WorkspaceProcessContext,
    runs: Iterable[tuple[str, Mapping[str, str]]],
    tags: Mapping[str, str],
    title: str,
) -> str:
    """Record a backfill of the asset partitions of `runs` (job name, run tags); its id."""
    instance = process_context.instance
    workspace = process_context.create_request_context()
    now = time.time()
    view = AssetGraphView(
        temporal_context=TemporalContext(
            effective_dt=datetime.fromtimestamp(now, UTC), last_event_id=None
        ),
        instance=instance,
        asset_graph=workspace.asset_graph,
    )
    target = AssetGraphSubset.create_empty_subset()
    for job_name, run_tags in runs:
        target |= run_target(view, job_name, run_tags)
    backfill = PartitionBackfill.from_asset_graph_subset(
        backfill_id=uuid.uuid4().hex[:8],
        backfill_timestamp=now,
        tags=tags,
        dynamic_partitions_store=instance,
        asset_graph_subset=target,
        title=title,
        description=None,
        run_config=None,
    )
    data = backfill.asset_backfill_data._replace(
        requested_subset=target,
        requested_runs_for_target_roots=True,
        latest_storage_id=instance.event_log_storage.get_maximum_record_id() or 0,
    )
    backfill = backfill.with_asset_backfill_data(data, instance, workspace.asset_graph)
    instance.add_backfill(backfill)
    return backfill.backfill_id


def _backfill(instance: DagsterInstance, backfill_id: str) -> PartitionBackfill:
    backfill = instance.get_backfill(backfill_id)
    if backfill is None:
        raise KeyError(f"no backfill {backfill_id} in the instance")
    return backfill


def finish_backfill(
    process_context: WorkspaceProcessContext, backfill_id: str, all_runs_succeeded: bool
) -> BulkActionStatus:
    """Record the backfill's outcome once its runs are over; its final status.

    When every run succeeded, every target partition was materialized (a successful range run
    materializes each of its assets over its whole range), so the record says so at once.
    Otherwise Dagster's backfill evaluation, as the daemon runs it, finds which partitions the
    runs materialized and which failed (a failed range run may have materialized some steps).
    """
    instance: DagsterInstance = process_context.instance
    if all_runs_succeeded:
        backfill = _backfill(instance, backfill_id)
        data = backfill.asset_backfill_data
        data = data._replace(materialized_subset=data.target_subset)
        graph = process_context.create_request_context().asset_graph
        instance.update_backfill(
            backfill.with_asset_backfill_data(data, instance, graph)
            .with_status(BulkActionStatus.COMPLETED_SUCCESS)
            .with_end_timestamp(time.time())
        )
    for _ in range(MAX_FINAL_EVALUATIONS):
        backfill = _backfill(instance, backfill_id)
        if backfill.status != BulkActionStatus.REQUESTED:
            break
        asyncio.run(execute_asset_backfill_iteration(backfill, logger, process_context, instance))
    return _backfill(instance, backfill_id).status
