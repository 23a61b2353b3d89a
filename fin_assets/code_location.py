"""The fin_assets code location as the Dagster UI loads it, and runs launched from it.

`loaded_code_location` loads `fin_assets.definitions` the way `fin-assets dev` (`dagster dev -m
fin_assets.definitions`) does: a workspace whose code location runs in a gRPC code server
started for it. `launch_run` creates a run of one of its jobs exactly as the UI's launchpad
does (`dagster job launch` in `dagster/_cli/job.py` does the same): with the job's remote
origin, its snapshot and execution plan snapshot from the code server, the job's tags, then
launches it through the instance's run launcher, which starts the run worker (`dagster api
execute_run`) in its own process. The run therefore carries the code location's origin
(`.dagster/repository` tag) and the snapshot the UI loads, so it is listed under its job.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster import DagsterInstance, DagsterRun
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.errors import DagsterLaunchFailedError
from dagster._core.launcher import WorkerStatus
from dagster._core.remote_representation.code_location import (
    CodeLocation,
    GrpcServerCodeLocation,
)
from dagster._core.remote_representation.external import RemoteRepository
from dagster._core.workspace.context import BaseWorkspaceRequestContext, WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget

# The module and location name `fin-assets dev` gives the code location: the runs' origin
# names it, and the UI finds a run's job by it.
CODE_LOCATION_MODULE = "fin_assets.definitions"
CODE_LOCATION_NAME = "fin_assets.definitions"
# What the fork run launcher's server preloads (fin_assets.fork_server): the code location's
# module and the preparation each run worker inherits.
RUN_WORKER_PRELOAD = f"{CODE_LOCATION_MODULE}:prepare_run_workers"


@contextmanager
def loaded_code_location(instance: DagsterInstance) -> Iterator[WorkspaceProcessContext]:
    """A workspace holding the code location (its code server stops on exit).

    The code server inherits this process's environment, so it builds the definitions of the
    FIN_* settings in os.environ. Raises RuntimeError with the loading error if it fails.
    """
    target = ModuleTarget(
        module_name=CODE_LOCATION_MODULE,
        attribute=None,
        working_directory=None,
        location_name=CODE_LOCATION_NAME,
    )
    with WorkspaceProcessContext(
        instance, target, code_server_log_level="WARNING"
    ) as process_context:
        error = process_context.create_request_context().get_code_location_error(CODE_LOCATION_NAME)
        if error is not None:
            raise RuntimeError(f"the code location {CODE_LOCATION_NAME} failed to load:\n{error}")
        yield process_context


def _location(workspace: BaseWorkspaceRequestContext) -> tuple[CodeLocation, RemoteRepository]:
    location = workspace.get_code_location(CODE_LOCATION_NAME)
    (repository,) = location.get_repositories().values()
    return location, repository


def create_run(
    workspace: BaseWorkspaceRequestContext,
    job_name: str,
    tags: Mapping[str, str],
    run_config: Mapping[str, Any],
) -> DagsterRun:
    """Create a run of `job_name` with the job's origin and snapshots (not started)."""
    instance = workspace.instance
    location, repository = _location(workspace)
    remote_job = location.get_job(
        JobSubsetSelector(
            location_name=location.name,
            repository_name=repository.name,
            job_name=job_name,
            op_selection=None,
        )
    )
    plan = location.get_execution_plan(
        remote_job, run_config, step_keys_to_execute=None, known_state=None, instance=instance
    ).execution_plan_snapshot
    return instance.create_run(
        job_name=job_name,
        run_id=None,
        run_config=run_config,
        resolved_op_selection=remote_job.resolved_op_selection,
        step_keys_to_execute=plan.step_keys_to_execute,
        op_selection=None,
        status=None,
        root_run_id=None,
        parent_run_id=None,
        tags={**remote_job.tags, **tags},
        job_snapshot=remote_job.job_snapshot,
        execution_plan_snapshot=plan,
        parent_job_snapshot=remote_job.parent_job_snapshot,
        remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(),
        asset_selection=None,
        asset_check_selection=None,
        asset_graph=repository.asset_graph,
    )


def launch_run(
    workspace: BaseWorkspaceRequestContext,
    job_name: str,
    tags: Mapping[str, str],
    run_config: Mapping[str, Any],
) -> DagsterRun:
    """Create a run of `job_name` (create_run) and launch it.

    A run whose launch fails is returned failed (the instance records the failure and its
    error in the run's event log).
    """
    instance = workspace.instance
    run = create_run(workspace, job_name, tags, run_config)
    try:
        return instance.launch_run(run.run_id, workspace)
    except DagsterLaunchFailedError:
        return instance.get_run_by_id(run.run_id)


def worker_running(workspace: BaseWorkspaceRequestContext, run: DagsterRun) -> bool:
    """Whether the run's worker process still runs: asked of the instance's run launcher when it
    checks worker health (fin_assets.run_launcher), else of the code server that started it (it
    forgets exited workers)."""
    launcher = workspace.instance.run_launcher
    if launcher.supports_check_run_worker_health:
        return launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
    location = workspace.get_code_location(CODE_LOCATION_NAME)
    if not isinstance(location, GrpcServerCodeLocation):
        raise TypeError(f"the code location {CODE_LOCATION_NAME} is not served by a code server")
    return run.run_id in location.get_current_runs()
