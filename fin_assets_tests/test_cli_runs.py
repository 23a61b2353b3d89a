"""`fin-assets backfill` as a Dagster user sees it, through the GraphQL API the UI queries.

The example of docs/running.md runs verbatim on a fresh FIN_HOME; its runs are listed under
their jobs with the code location's origin and the snapshot the UI loads, tagged with who
launched them, and its backfill is on the Backfills page with every targeted partition
materialized.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.workspace.context import WorkspaceProcessContext, WorkspaceRequestContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster_graphql.test.utils import execute_dagster_graphql

from fin_assets.analytics.market_calendar import sessions_in_range
from fin_assets.cli import main
from fin_assets.definitions import defs
from fin_assets.defs.common.jobs import job_assets
from fin_assets.defs.operations.freshness import DAILY_SLA_ASSETS, DATE_SLA_ASSETS, FRESHNESS_CHECK
from fin_assets.instance import open_instance
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.settings import Settings
from fin_assets_tests.defs.test_freshness import CHECK_QUERY, freshness_status

# The repository tag of a run of the code location `fin-assets dev` loads.
SYMBOL_HISTORY_ASSETS = job_assets(defs(), "symbol_history_job")
PORTFOLIO_ASSETS = job_assets(defs(), "portfolio_job")
REPOSITORY_LABEL = "__repository__@fin_assets.definitions"
README_EXAMPLE = "fin-assets backfill --start 2025-06-01 --end 2025-06-30 --symbols AAPL,BTC"

RUNS_QUERY = """
query JobRuns($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    ... on Runs {
      results {
        runId
        status
        pipelineName
        pipelineSnapshotId
        repositoryOrigin { repositoryLocationName repositoryName }
        tags { key value }
      }
    }
  }
}
"""
JOB_QUERY = """
query Job($selector: PipelineSelector!) {
  pipelineOrError(params: $selector) {
    ... on Pipeline { pipelineSnapshotId }
  }
}
"""
BACKFILLS_QUERY = """
query Backfills {
  partitionBackfillsOrError {
    ... on PartitionBackfills {
      results {
        id
        status
        title
        isAssetBackfill
        tags { key value }
        assetBackfillData {
          assetBackfillStatuses {
            ... on AssetPartitionsStatusCounts {
              assetKey { path }
              numPartitionsTargeted
              numPartitionsMaterialized
              numPartitionsFailed
              numPartitionsInProgress
            }
            ... on UnpartitionedAssetStatus { assetKey { path } materialized failed inProgress }
          }
        }
      }
    }
  }
}
"""


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    output: str


@pytest.fixture(scope="module")
def readme_backfill(module_fin_settings: Settings) -> CommandResult:
    """docs/running.md's example, verbatim, on a fresh FIN_HOME (stdout and stderr together)."""
    command = shlex.split(README_EXAMPLE)
    done = subprocess.run(
        [str(Path(sys.executable).parent / command[0]), *command[1:]],
        env={**os.environ, **module_fin_settings.environment()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    return CommandResult(done.returncode, done.stdout)


@pytest.fixture(scope="module")
def ui_workspace(module_fin_settings: Settings) -> Iterator[WorkspaceRequestContext]:
    """The workspace `fin-assets dev` serves (`dagster dev -m fin_assets.definitions`), its code
    server started in the same environment as the command's."""
    instance: DagsterInstance = open_instance(module_fin_settings)
    target = ModuleTarget("fin_assets.definitions", None, None, None)
    with pytest.MonkeyPatch.context() as environment:
        for name, value in module_fin_settings.environment().items():
            environment.setenv(name, value)
        context = WorkspaceProcessContext(instance, target)
    with context:
        yield context.create_request_context()


def tags_of(entry: dict) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in entry["tags"]}


@pytest.mark.slow
def test_the_readme_example_succeeds_on_a_fresh_home(
    readme_backfill: CommandResult, module_fin_settings: Settings
) -> None:
    assert readme_backfill.exit_code == 0, readme_backfill.output
    output = readme_backfill.output
    assert "Traceback" not in output
    assert "daily bars are missing before 2025-06-01" in output
    assert "the history runs start at 2025-01-01" in output
    assert "portfolio: not run" in output
    warehouse = DuckDBWarehouse(str(module_fin_settings.warehouse_path))
    rows = warehouse.query(
        "SELECT symbol, count(*) AS n FROM fact_daily_bar "
        "WHERE trade_date BETWEEN DATE '2025-06-01' AND DATE '2025-06-30' GROUP BY symbol"
    )
    june = dict(zip(rows["symbol"], rows["n"], strict=True))
    assert june == {
        "AAPL": len(sessions_in_range("XNYS", date(2025, 6, 1), date(2025, 6, 30))),
        "BTC": 30,
    }


@pytest.mark.slow
def test_the_runs_are_listed_under_their_jobs_with_the_code_location_origin(
    readme_backfill: CommandResult, ui_workspace: WorkspaceRequestContext
) -> None:
    assert readme_backfill.exit_code == 0, readme_backfill.output
    ranges = {}
    for job, count in (("reference_job", 1), ("symbol_history_job", 2), ("report_job", 1)):
        repository = {"key": ".dagster/repository", "value": REPOSITORY_LABEL}
        result = execute_dagster_graphql(
            ui_workspace, RUNS_QUERY, {"filter": {"pipelineName": job, "tags": [repository]}}
        )
        runs = result.data["runsOrError"]["results"]
        assert len(runs) == count, runs
        selector = {
            "repositoryLocationName": "fin_assets.definitions",
            "repositoryName": "__repository__",
            "pipelineName": job,
        }
        loaded = execute_dagster_graphql(ui_workspace, JOB_QUERY, {"selector": selector})
        for run in runs:
            assert run["status"] == "SUCCESS"
            assert run["repositoryOrigin"] == {
                "repositoryLocationName": "fin_assets.definitions",
                "repositoryName": "__repository__",
            }
            assert run["pipelineSnapshotId"] == loaded.data["pipelineOrError"]["pipelineSnapshotId"]
            tags = tags_of(run)
            assert tags["fin/launched_by"] == "fin-assets backfill"
            assert tags["user"]
            assert tags["dagster/backfill"]
            if job == "symbol_history_job":
                ranges[tags["dagster/asset_partition_range_start"]] = tags[
                    "dagster/asset_partition_range_end"
                ]
    # AAPL and BTC are not neighbours in the universe: a run each, from the first partition
    # date (the look-back history the plan included).
    assert ranges == {"2025-01-01|AAPL": "2025-06-30|AAPL", "2025-01-01|BTC": "2025-06-30|BTC"}
    portfolio = execute_dagster_graphql(
        ui_workspace, RUNS_QUERY, {"filter": {"pipelineName": "portfolio_job"}}
    )
    assert portfolio.data["runsOrError"]["results"] == []


@pytest.mark.slow
def test_the_backfill_is_on_the_backfills_page_with_its_partitions_materialized(
    readme_backfill: CommandResult, ui_workspace: WorkspaceRequestContext
) -> None:
    assert readme_backfill.exit_code == 0, readme_backfill.output
    result = execute_dagster_graphql(ui_workspace, BACKFILLS_QUERY)
    (backfill,) = result.data["partitionBackfillsOrError"]["results"]
    assert backfill["status"] == "COMPLETED_SUCCESS"
    assert backfill["isAssetBackfill"]
    assert backfill["title"].startswith("fin-assets backfill 2025-06-01 to 2025-06-30")
    assert tags_of(backfill)["fin/launched_by"] == "fin-assets backfill"
    statuses = {
        "/".join(status["assetKey"]["path"]): status
        for status in backfill["assetBackfillData"]["assetBackfillStatuses"]
    }
    runs = execute_dagster_graphql(
        ui_workspace,
        RUNS_QUERY,
        {"filter": {"tags": [{"key": "dagster/backfill", "value": backfill["id"]}]}},
    )
    assert {run["pipelineName"] for run in runs.data["runsOrError"]["results"]} == {
        "reference_job",
        "symbol_history_job",
        "report_job",
    }
    assert set(statuses) == {*SYMBOL_HISTORY_ASSETS, "dim_symbol", "dim_date", "market_report"}
    assert not set(PORTFOLIO_ASSETS) & set(statuses)
    # 181 dates (2025-01-01..06-30, the look-back included) × AAPL and BTC.
    partitions = ((date(2025, 6, 30) - date(2025, 1, 1)).days + 1) * 2
    for name in SYMBOL_HISTORY_ASSETS:
        counts = statuses[name]
        assert counts["numPartitionsTargeted"] == partitions, name
        assert counts["numPartitionsMaterialized"] == counts["numPartitionsTargeted"], name
        assert counts["numPartitionsFailed"] == counts["numPartitionsInProgress"] == 0
    for name in ("dim_symbol", "dim_date", "market_report"):
        assert statuses[name]["materialized"] and not statuses[name]["failed"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--symbols", "AAPL,DOGE"], "unknown symbols ['DOGE']"),
        (["--start", "2024-12-31"], "before the partitions' first date 2025-01-01"),
        (["--start", "2025-06-02", "--end", "2025-06-01"], "start 2025-06-02 is after end"),
    ],
)
def test_argument_errors_print_no_traceback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("FIN_HOME", str(tmp_path))
    command = ["backfill", "--start", "2025-06-01", "--end", "2025-06-30", *arguments]
    with pytest.raises(SystemExit) as exit_info:
        main(command)
    assert exit_info.value.code == 2
    errors = capsys.readouterr().err
    assert message in errors
    assert "Traceback" not in errors
    assert len(errors.splitlines()) <= 3


@pytest.mark.slow
def test_a_failed_run_prints_its_step_cause_and_log(fin_settings: Settings) -> None:
    """BTC's daily bars of Jan 1-2 exist but are not Parquet: the plan takes the history as
    present, the run reading it fails; the command says where and why in a few lines."""
    lake = ParquetLake(fin_settings.lake_root)
    for day in (date(2025, 1, 1), date(2025, 1, 2)):
        path = Path(lake.partition_path("daily_bars", day, "BTC"))
        path.parent.mkdir(parents=True)
        path.write_bytes(b"not parquet")
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "fin-assets"),
            *("backfill", "--start", "2025-01-03", "--end", "2025-01-03", "--symbols", "BTC"),
        ],
        env={**os.environ, **fin_settings.environment()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stdout
    output = done.stdout
    assert "Traceback" not in output
    assert "symbol_history_job 2025-01-03|BTC → 2025-01-03|BTC failed" in output
    causes = re.findall(r"^  (\w+): (.*)$", output, flags=re.MULTILINE)
    assert causes, output
    assert all("Parquet" in cause or "parquet" in cause for _, cause in causes), causes
    (log_path,) = re.findall(r"full log: (\S+\.log)", output)
    log = Path(log_path).read_text()
    assert log_path.startswith(str(fin_settings.home / "logs"))
    assert "Stack Trace:" in log and "STEP_FAILURE" in log
    instance = open_instance(fin_settings)
    (backfill,) = instance.get_backfills()
    assert backfill.status == BulkActionStatus.COMPLETED_FAILED
    portfolio_or_report = [
        run.job_name
        for run in instance.get_runs()
        if run.job_name in ("portfolio_job", "report_job")
    ]
    assert portfolio_or_report == []  # the stages after the failed one did not run


@pytest.mark.slow
def test_the_backfill_states_the_freshness_slas_in_the_ui(
    readme_backfill: CommandResult, ui_workspace: WorkspaceRequestContext
) -> None:
    """No daemon ran: the CLI recorded each daily SLA's check, which the June backfill leaves
    failing (the latest due partitions are not materialized), never "not evaluated"."""
    assert readme_backfill.exit_code == 0, readme_backfill.output
    for asset in (*DAILY_SLA_ASSETS, *DATE_SLA_ASSETS):
        variables = {"assetKey": {"path": [asset]}, "checkName": FRESHNESS_CHECK}
        data = execute_dagster_graphql(ui_workspace, CHECK_QUERY, variables).data
        status, entries = freshness_status(data)
        assert status == "FAILED", asset
        assert entries["overdue_count"]["intValue"] > 0, asset
