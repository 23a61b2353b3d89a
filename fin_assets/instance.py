"""The Dagster instance under FIN_HOME, shared by the CLI and `dagster dev`."""

from __future__ import annotations

from collections.abc import Iterable

import yaml
from dagster import DagsterInstance

from fin_assets.code_location import RUN_WORKER_PRELOAD
from fin_assets.instance_database import ensure_postgres_database, resolve_instance_database
from fin_assets.settings import Settings, export

# Dagster's own knobs for runs that cover thousands of partitions: one "planned" event per asset
# for a single-run range instead of one per partition, and materialization events written in
# batches (Postgres storage writes a batch in one statement).
EVENT_ENVIRONMENT = {
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true",
    "DAGSTER_EVENT_BATCH_SIZE": "1000",
}


# Seconds between the run monitoring daemon's checks of the STARTED runs' workers.
RUN_MONITORING_POLL_SECONDS = 5

# The limit of every concurrency pool of the code location (open_instance sets it explicitly).
POOL_LIMIT = 1

# Threads of the sensor daemon: one per sensor of the code location (landing, freshness, run
# failure alert, room for one more).
SENSOR_THREADS = 4


def _configurable(module: str, class_name: str, config: dict) -> dict:
    return {"module": module, "class": class_name, "config": config}


def storage_config(settings: Settings) -> dict:
    """The instance's run, event-log and schedule storages, in Postgres or SQLite (SQLite in the
    folders of Dagster's `storage: sqlite` shorthand). The event log is Dagster's with its pool
    claims mended (fin_assets.instance_storage)."""
    pool_wait = {"pool_wait_limit_seconds": settings.pool_wait_limit_seconds}
    if settings.dagster_storage == "postgres":
        url = {"postgres_url": settings.dagster_pg_url}
        return {
            "run_storage": _configurable("dagster_postgres.run_storage", "PostgresRunStorage", url),
            "event_log_storage": _configurable(
                "fin_assets.instance_storage", "PostgresPoolSafeEventLogStorage", url | pool_wait
            ),
            "schedule_storage": _configurable(
                "dagster_postgres.schedule_storage", "PostgresScheduleStorage", url
            ),
        }
    base = settings.dagster_home / "storage"
    return {
        "run_storage": _configurable(
            "dagster._core.storage.runs", "SqliteRunStorage", {"base_dir": str(base / "history")}
        ),
        "event_log_storage": _configurable(
            "fin_assets.instance_storage",
            "SqlitePoolSafeEventLogStorage",
            {"base_dir": str(base / "history" / "runs")} | pool_wait,
        ),
        "schedule_storage": _configurable(
            "dagster._core.storage.schedules",
            "SqliteScheduleStorage",
            {"base_dir": str(base / "schedules")},
        ),
    }


def run_launcher_config(settings: Settings) -> dict:
    """The run launcher and run monitoring of `settings.run_launcher`.

    `fork`: fin_assets.run_launcher's ForkServerRunLauncher, with Dagster's run monitoring on:
    the daemon checks every STARTED run's worker each RUN_MONITORING_POLL_SECONDS and fails a
    run whose worker died (SIGKILL, out of memory). `code_server`: Dagster's DefaultRunLauncher
    (no worker health checks; a run whose worker died stays STARTED until someone fails it).
    """
    if settings.run_launcher == "code_server":
        return {}
    return {
        "run_launcher": _configurable(
            "fin_assets.run_launcher",
            "ForkServerRunLauncher",
            {"preload_modules": [RUN_WORKER_PRELOAD]},
        ),
        "run_monitoring": {"enabled": True, "poll_interval_seconds": RUN_MONITORING_POLL_SECONDS},
    }


def instance_config(settings: Settings) -> dict:
    """dagster.yaml of the instance: Postgres or SQLite storage, the run launcher, no
    telemetry."""
    return {
        **storage_config(settings),
        **run_launcher_config(settings),
        # Dagster's run queue, looked at every second (its default is 5 s), except for the
        # landing sensor's runs, launched at once (fin_assets.run_coordinator).
        "run_coordinator": _configurable(
            "fin_assets.run_coordinator",
            "AtOnceOrQueuedRunCoordinator",
            {"dequeue_interval_seconds": 1},
        ),
        # Each sensor's tick in its own thread: the landing sensor's tick (every 5-s loop of
        # the sensor daemon) never waits behind another sensor's (Dagster's default evaluates
        # them one after the other).
        "sensors": {"use_threads": True, "num_workers": SENSOR_THREADS},
        # Op-level pools, limit 1 unless set otherwise: warehouse steps of concurrent runs
        # take turns on the DuckDB file, and each vendor's fetch step of raw_quotes (pools
        # vendor_alpha_vantage, vendor_coingecko, vendor_yahoo, vendor_offline) on its vendor.
        "concurrency": {"pools": {"granularity": "op", "default_limit": POOL_LIMIT}},
        # A code server whose daemon heartbeat lapses (an overloaded machine) waits for the
        # runs it launched instead of killing them when it shuts down.
        "code_servers": {"wait_for_local_processes_on_shutdown": True},
        "telemetry": {"enabled": False},
    }


def prepare_instance_environment(settings: Settings) -> Settings:
    """Write dagster.yaml under FIN_HOME and point this process (and its children) at it; the
    settings with the instance's database resolved (FIN_HOME's embedded server joined when
    FIN_DAGSTER_PG_URL is not set: fin_assets.instance_database)."""
    settings = resolve_instance_database(settings)
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config_file = settings.dagster_home / "dagster.yaml"
    config = yaml.safe_dump(instance_config(settings), sort_keys=False)
    if not config_file.exists() or config_file.read_text() != config:
        config_file.write_text(config)
    if settings.dagster_storage == "postgres":
        ensure_postgres_database(settings.dagster_pg_url)
    export({"DAGSTER_HOME": str(settings.dagster_home), **EVENT_ENVIRONMENT})
    return settings


def set_pool_limits(instance: DagsterInstance, pools: Iterable[str]) -> None:
    """Give `pools` an explicit limit (POOL_LIMIT) where the instance has none yet.

    A pool left to `default_limit` is created by the first step that claims it, and on Postgres
    two runs doing that at once make one of them fail (Dagster issue #33552: the insert races,
    the transaction is aborted); a pool set explicitly is never initialized by a step.
    """
    configured = instance.event_log_storage.get_concurrency_keys()
    for pool in sorted(set(pools) - configured):
        instance.event_log_storage.set_concurrency_slots(pool, POOL_LIMIT)


def open_instance(settings: Settings) -> DagsterInstance:
    """The persistent instance under FIN_HOME (created on first use), with a limit set for each
    concurrency pool of the code location."""
    from fin_assets.definitions import build_definitions, op_pools

    prepare_instance_environment(settings)
    instance = DagsterInstance.get()
    set_pool_limits(instance, op_pools(build_definitions(settings)))
    return instance
