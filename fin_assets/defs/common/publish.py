"""Write-audit-publish for a whole run: what a run writes becomes visible only when it succeeded.

A step's own blocking checks run before its write (defs/common/audit.py), but a run of several steps
could still fail after an earlier step wrote: intraday bars written, then a daily_bars check
failing; intraday facts loaded, then a risk check failing. So every write of a staged run is
staged (fin_assets.resources.storage): the lake's partitions in the run's staging folder, which
the run's own steps read through (ParquetLake), the fact and dimension loads in run-scoped
staging tables (SqlWarehouse). The Spark jobs of its steps write and read the same staging
folder (they are given the run's id: fin_assets.resources.spark_runner.staging_arguments).
When the run is over:

- every step succeeded: the run is published — the warehouse's staged loads applied in ONE
  transaction (which marks them published), then the lake's staging committed (a marker) and
  each staged file moved over its published path, then the staging tables dropped;
- a step failed (a blocking check, an error) or did not finish: the staging is discarded, and
  the lake and the warehouse are exactly as they were before the run. The materializations
  the run's successful steps recorded stay in its event log (Dagster has no retraction); the
  run is failed, and its engine event "the run's writes are discarded" names those assets.

A run that dies in between (killed worker, lost pod) leaves its staging behind; the next staged
run collects it (`collect_abandoned`): a run whose lake staging was committed, or whose
warehouse loads were published, is published to the end; any other finished run's staging is
discarded. Runs still in progress are left alone.

Who stages: the executor of every job (`publishing_executor`, wrapping the in-process executor
or dagster-k8s's step-per-pod executor: runs launched by `fin-assets backfill`/`demo`, the UI,
the daemon's sensors, schedules and automation) and `execute_staged_in_process` (runs executed
in the caller's process: `fin-assets ingest-landing`). Both open the run's lake staging and tag
the run (STAGED_RUN_TAG) before its first step, so that every step, in whatever process or pod
it runs, stages its writes; publication or discard happens where the run is orchestrated (the
run worker), after the last step. A run executed any other way (`materialize`,
`JobDefinition.execute_in_process`) writes directly, step by step, as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster import (
    DagsterEvent,
    DagsterInstance,
    ExecuteInProcessResult,
    ExecutorDefinition,
    JobDefinition,
    build_resources,
)
from dagster._core.events import EngineEventData
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode
from dagster._core.execution.step_dependency_config import StepDependencyConfig
from dagster._core.executor.base import Executor
from dagster._core.utils import make_new_run_id

from fin_assets.defs.common.stale_checks import stale_evaluations
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.storage import STAGED_RUN_TAG, LakeResource, WarehouseResource
from fin_assets.resources.warehouse import Warehouse
from fin_assets.warehouse.model import DERIVED_FROM_BARS

# The facts whose publication can change which derived rows are stale.
_LINEAGE_FACTS = frozenset({"fact_daily_bar", *DERIVED_FROM_BARS})


def publish_run(lake: ParquetLake, warehouse: Warehouse, run_id: str) -> int:
    """Publish a staged run (module docstring); returns the lake files moved."""
    warehouse.publish_staged(run_id)
    lake.commit_staged(run_id)
    moved = lake.publish_staged(run_id)
    warehouse.drop_staged(run_id)
    return moved


def restate_stale_checks(
    instance: DagsterInstance, warehouse: Warehouse, run_id: str, materialized: set[str]
) -> None:
    """After publishing a run that loaded bars or derived facts, re-state every derived fact's
    `bars_current` check on the warehouse as published (its steps saw it before)."""
    if materialized & _LINEAGE_FACTS:
        for evaluation in stale_evaluations(instance, warehouse, run_id):
            instance.report_runless_asset_event(evaluation)


def discard_run(lake: ParquetLake, warehouse: Warehouse, run_id: str) -> None:
    """Discard a staged run's writes: the lake and the warehouse keep what they had."""
    warehouse.drop_staged(run_id)
    lake.discard_staged(run_id)


def collect_abandoned(
    lake: ParquetLake, warehouse: Warehouse, instance: DagsterInstance, current_run: str
) -> list[str]:
    """Finish or discard the staging left by finished (or unknown) runs other than
    `current_run` (module docstring); returns their ids."""
    collected = []
    for run_id, committed in lake.staged_runs().items():
        run = instance.get_run_by_id(run_id)
        if run_id == current_run or (run is not None and not run.is_finished):
            continue
        if committed or warehouse.is_published(run_id):
            publish_run(lake, warehouse, run_id)
        else:
            discard_run(lake, warehouse, run_id)
        collected.append(run_id)
    return collected


@contextmanager
def _storage(
    resources: Mapping[str, Any], instance: DagsterInstance
) -> Iterator[tuple[ParquetLake, Warehouse]]:
    """The lake (publishing side: not staging) and the warehouse of a job's resources, built on
    the run's instance (without one, Dagster builds a throw-away instance each time)."""
    with build_resources(
        {"lake": resources["lake"], "warehouse": resources["warehouse"]}, instance=instance
    ) as built:
        lake: LakeResource = built.lake
        warehouse: WarehouseResource = built.warehouse
        yield lake.get_lake(), warehouse.get_warehouse()


class PublishingExecutor(Executor):
    """Runs the steps with `inner` (in this process, in subprocesses or in pods), staging the
    run's writes; publishes the run when every step succeeded, discards its staging otherwise
    (module docstring)."""

    def __init__(self, inner: Executor) -> None:
        self._inner = inner

    @property
    def retries(self) -> RetryMode:
        return self._inner.retries

    @property
    def step_dependency_config(self) -> StepDependencyConfig:
        return self._inner.step_dependency_config

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        run_id = plan_context.run_id
        resources = plan_context.job.get_definition().resource_defs
        with _storage(resources, plan_context.instance) as (lake, warehouse):
            collected = collect_abandoned(lake, warehouse, plan_context.instance, run_id)
            if collected:
                yield _engine_event(plan_context, f"collected the staging of runs {collected}")
            lake.open_staging(run_id)
        plan_context.instance.add_run_tags(run_id, {STAGED_RUN_TAG: run_id})
        finished: set[str] = set()
        materialized: set[str] = set()
        for event in self._inner.execute(plan_context, execution_plan):
            if (event.is_step_success or event.is_step_skipped) and event.step_key is not None:
                finished.add(event.step_key)
            if event.is_step_materialization and event.asset_key is not None:
                materialized.add(event.asset_key.to_user_string())
            yield event
        with _storage(resources, plan_context.instance) as (lake, warehouse):
            if finished.issuperset(execution_plan.step_keys_to_execute):
                moved = publish_run(lake, warehouse, run_id)
                restate_stale_checks(plan_context.instance, warehouse, run_id, materialized)
                yield _engine_event(plan_context, f"published the run's writes ({moved} files)")
            else:
                discard_run(lake, warehouse, run_id)
                yield _engine_event(
                    plan_context,
                    "a step failed or did not finish: the run's writes are discarded, including "
                    f"those of its materialized assets {sorted(materialized)}",
                )


def _engine_event(plan_context: PlanOrchestrationContext, message: str) -> DagsterEvent:
    return DagsterEvent.engine_event(plan_context, message, EngineEventData())


def publishing_executor(inner: ExecutorDefinition) -> ExecutorDefinition:
    """`inner` (its name, configuration and requirements) with its runs staged and published
    (PublishingExecutor)."""
    create = inner.executor_creation_fn
    if create is None:
        raise ValueError(f"executor {inner.name} has no creation function")
    return ExecutorDefinition(
        name=inner.name,
        config_schema=inner.config_schema,
        requirements=inner.get_requirements,
        executor_creation_fn=lambda init_context: PublishingExecutor(create(init_context)),
        description=inner.description,
    )


def execute_staged_in_process(
    job: JobDefinition,
    instance: DagsterInstance,
    tags: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> ExecuteInProcessResult:
    """`job.execute_in_process(instance=instance, tags=tags, **kwargs)` as a staged run:
    published when it succeeded, discarded otherwise."""
    run_id = make_new_run_id()
    with _storage(job.resource_defs, instance) as (lake, warehouse):
        collect_abandoned(lake, warehouse, instance, run_id)
        lake.open_staging(run_id)
    result = job.execute_in_process(
        instance=instance, run_id=run_id, tags={**(tags or {}), STAGED_RUN_TAG: run_id}, **kwargs
    )
    with _storage(job.resource_defs, instance) as (lake, warehouse):
        if result.success:
            publish_run(lake, warehouse, run_id)
            materialized = {
                event.asset_key.to_user_string()
                for event in result.get_asset_materialization_events()
                if event.asset_key is not None
            }
            restate_stale_checks(instance, warehouse, run_id, materialized)
        else:
            discard_run(lake, warehouse, run_id)
    return result
