"""deploy/dagster.*.yaml load as real instances: SQLite locally, Postgres in production."""

import shutil
from pathlib import Path

import psycopg2
import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.storage.runs import SqliteRunStorage
from dagster_postgres import PostgresRunStorage

from fin_assets.instance import SENSOR_THREADS, open_instance
from fin_assets.instance_storage import PostgresPoolSafeEventLogStorage
from fin_assets.settings import Settings

DEPLOY = Path(__file__).parents[2] / "deploy"
# Each sensor's tick in its own thread, as the instance of fin_assets.instance has it.
THREADED_SENSORS = {"use_threads": True, "num_workers": SENSOR_THREADS}


def load(template: str, home: Path) -> DagsterInstance:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEPLOY / template, home / "dagster.yaml")
    return DagsterInstance.from_config(str(home))


def store_a_run(instance: DagsterInstance) -> DagsterRun:
    run = instance.add_run(DagsterRun(job_name="vendor_pull_job", tags={"fin/vendor": "yahoo"}))
    assert [r.run_id for r in instance.get_runs()] == [run.run_id]
    return run


def test_local_template_is_sqlite_under_dagster_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with load("dagster.local.yaml", home) as instance:
        assert isinstance(instance.run_storage, SqliteRunStorage)
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        store_a_run(instance)
        config = instance.get_concurrency_config()
        assert config.run_queue_config.max_concurrent_runs == 2
        assert config.pool_config.default_pool_limit == 1
        assert instance.get_settings("sensors") == THREADED_SENSORS
    assert (home / "history" / "runs.db").exists()


def test_prod_template_is_postgres_from_the_environment_with_vendor_limits(
    tmp_path: Path, fin_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIN_DAGSTER_PG_URL", fin_settings.dagster_pg_url)
    with load("dagster.prod.yaml", tmp_path / "dagster_home") as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresPoolSafeEventLogStorage)
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert instance.get_settings("sensors") == THREADED_SENSORS
        run = store_a_run(instance)
        queue = instance.get_concurrency_config().run_queue_config
        limits = {
            (limit["key"], limit.get("value")): limit["limit"]
            for limit in queue.tag_concurrency_limits
        }
        assert limits == {
            ("fin/vendor", "alphavantage"): 1,
            ("fin/vendor", "coingecko"): 2,
            ("fin/vendor", "yahoo"): 2,
            ("dagster/backfill", None): 10,
        }
    connection = psycopg2.connect(fin_settings.dagster_pg_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT status, pipeline_name FROM runs WHERE run_id = %s", (run.run_id,)
            )
            assert cursor.fetchone() == (DagsterRunStatus.NOT_STARTED.value, "vendor_pull_job")
    finally:
        connection.close()


def test_the_projects_instance_runs_each_sensor_in_its_own_thread(fin_settings: Settings) -> None:
    """The landing sensor's tick never waits behind another sensor's (Dagster's default runs
    the sensors of a daemon loop one after the other)."""
    instance = open_instance(fin_settings)
    try:
        assert instance.get_settings("sensors") == THREADED_SENSORS
    finally:
        instance.dispose()
