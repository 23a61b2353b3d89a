"""A backfill and a one-partition materialization launched as the Dagster UI launches them.

AAPL's history exists for 2025-01-01..2025-01-07; through the webserver's GraphQL schema the
test then launches `launchPartitionBackfill` with the UI's parameters (the date × symbol assets
× the partition keys of the next three dates: Dagster adds every downstream partition reached
through the dependencies' partition mappings), and then the asset page's "Materialize" of one
risk_metrics partition (`launchPipelineExecution` of the asset job with `dagster/partition`).
A real `dagster-daemon` runs them. Both succeed, with no failed run, and exactly the requested
partitions are materialized.
"""

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import yaml
from dagster import AssetKey, DagsterRunStatus, RunsFilter
from dagster._core.execution.backfill import BulkActionStatus
from dagster_graphql.client.query import LAUNCH_PARTITION_BACKFILL_MUTATION
from dagster_graphql.test.utils import (
    define_out_of_process_context,
    execute_dagster_graphql,
    materialize_assets,
)

from fin_assets.definitions import defs
from fin_assets.defs.common.jobs import job_assets
from fin_assets.defs.common.partitions import graph_partitions
from fin_assets.instance import open_instance
from fin_assets.runner import RunRequest
from fin_assets.settings import Settings
from fin_assets.testing.daemon import (
    REPOSITORY_ROOT,
    backfill_finished,
    daemon_environment,
    failures,
    running_daemon,
)
from fin_assets_tests.in_process_runs import execute_in_process

pytestmark = [pytest.mark.slow, pytest.mark.daemon]

HISTORY_START, HISTORY_END = date(2025, 1, 1), date(2025, 1, 7)
SYMBOL_HISTORY_ASSETS = job_assets(defs(), "symbol_history_job")
BACKFILL = [date(2025, 1, 8), date(2025, 1, 9), date(2025, 1, 10)]
TIMEOUT_SECONDS = 600


def keys(days: list[date]) -> set[str]:
    return {str(graph_partitions().partition_key(day, "AAPL")) for day in days}


@pytest.fixture
def ui(fin_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A GraphQL context of the code location on the test's instance (what the webserver runs)."""
    for name, value in daemon_environment(fin_settings, {}).items():
        monkeypatch.setenv(name, value)
    fin_settings.home.mkdir(parents=True, exist_ok=True)
    workspace = fin_settings.home / "ui_workspace.yaml"
    location = {
        "module_name": "fin_assets.definitions",
        "location_name": "fin_assets",
        "working_directory": str(REPOSITORY_ROOT),
    }
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": location}]}))
    with define_out_of_process_context(
        str(workspace), None, open_instance(fin_settings)
    ) as context:
        yield context


def test_a_ui_backfill_after_existing_history_and_a_one_partition_materialize_succeed(
    fin_settings: Settings, ui
) -> None:
    instance = open_instance(fin_settings)
    history = RunRequest(
        "symbol_history_job",
        str(graph_partitions().partition_key(HISTORY_START, "AAPL")),
        str(graph_partitions().partition_key(HISTORY_END, "AAPL")),
    )
    assert execute_in_process(fin_settings, history)

    params = {
        "assetSelection": [{"path": [name]} for name in SYMBOL_HISTORY_ASSETS],
        "partitionNames": sorted(keys(BACKFILL)),
        "fromFailure": False,
        "tags": [],
    }
    result = execute_dagster_graphql(
        ui, LAUNCH_PARTITION_BACKFILL_MUTATION, {"backfillParams": params}
    )
    assert not result.errors, result.errors
    launched = result.data["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    with running_daemon(fin_settings, {}) as daemon:
        daemon.wait_for(
            "the backfill", lambda: backfill_finished(instance, backfill_id), TIMEOUT_SECONDS
        )
        backfill = instance.get_backfill(backfill_id)
        assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS, (
            backfill.status,
            failures(instance),
            daemon.log_tail(),
        )
        [launch] = materialize_assets(ui, [AssetKey("risk_metrics")], sorted(keys(BACKFILL[-1:])))
        assert not launch.errors, launch.errors
        run_id = launch.data["launchPipelineExecution"]["run"]["runId"]
        daemon.wait_for(
            "the one-partition run",
            lambda: instance.get_run_by_id(run_id).is_finished,
            TIMEOUT_SECONDS,
        )
        assert instance.get_run_by_id(run_id).status == DagsterRunStatus.SUCCESS, failures(instance)
        daemon.settle(instance, TIMEOUT_SECONDS)

    assert failures(instance) == []
    assert instance.get_runs_count(RunsFilter(statuses=[DagsterRunStatus.FAILURE])) == 0
    everything = keys([HISTORY_START + timedelta(n) for n in range(10)])
    for asset in SYMBOL_HISTORY_ASSETS:
        assert instance.get_materialized_partitions(AssetKey(asset)) == everything, asset
