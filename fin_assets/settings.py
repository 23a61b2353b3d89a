"""The configuration of fin_assets from the environment: the one module that reads it.

Nothing else in fin_assets touches `os.environ` (fin_assets_tests/test_settings_reader.py checks
it with an AST walk): the process settings come from `get_settings()`, the few values needed
before them from `universe_file()` and `history_start()`, and the configuration blocks that
parse their own variables (plausibility rules, landing limits, Kafka, Snowflake, EMR, alerts,
the operations file) from the snapshot `environ()` passed to them. `export()` sets variables
for Dagster and the child processes (`exported()` for a block only). Reading happens when these
functions are called, never when this module is imported. The Spark jobs (spark_resources/) run
on clusters and read their own entry point's environment.

Where fin_assets keeps its local state:

Every piece of local state lives under one folder, FIN_HOME (default `~/.fin_assets`):
`lake/` (Parquet lake), `lake_cache/` (with an S3 lake: the host's copies of its files),
`warehouse/fin_assets.duckdb` (DuckDB warehouse) and `dagster_home/`
(the Dagster instance, so runs made from the CLI appear in `dagster dev`, with its embedded
Postgres server unless FIN_DAGSTER_PG_URL names an external one).

Environment variables:
- FIN_HOME: the state folder.
- FIN_ENV: `local` (default; offline, synthetic data, local lake, DuckDB) or `prod`. The
  environment only chooses the defaults of the switches below; each switch can be set alone,
  which is how the tests run the cloud adapters against local emulators (moto, fakesnow).
- FIN_LAKE_URL: where the lake lives: a folder (default `$FIN_HOME/lake`) or `s3://bucket/prefix`
  (credentials from the standard AWS chain; `AWS_ENDPOINT_URL` points it at another endpoint).
  It holds the curated datasets, and every zone not given a root of its own below.
- FIN_LAKE_CACHE_MAX_BYTES: the most `$FIN_HOME/lake_cache` holds (default 512 MiB;
  fin_assets.resources.lake_file_cache; 0 turns the cache off).
- FIN_LANDING_URL: root of the landing zone (`landing/` and `quarantine/` keys), e.g. its own
  bucket; FIN_RAW_URL: root of the raw zone (`raw/` keys). Both default to FIN_LAKE_URL; a zone
  root holds the same keys as the single lake (fin_assets.resources.object_store).
- FIN_WAREHOUSE: `duckdb` (local default) or `snowflake` (prod default).
- FIN_MARKET_SOURCE: `synthetic` (local default) or `vendors` (prod default).
- FIN_SPARK: `local` (local default, `local[*]`), `emr` (prod default) or `emr-serverless`; the
  cloud runners' settings (FIN_SPARK_STAGING_URI, FIN_EMR_*) are listed and read in
  fin_assets.resources.spark_emr.
- FIN_EXECUTOR: `in_process` (local default) or `k8s` (prod default: a pod per step).
- FIN_SEED: seed of the synthetic market (default 42).
- FIN_DAGSTER_STORAGE: `postgres` (default) or `sqlite` for the Dagster instance.
- FIN_DAGSTER_PG_URL: the instance's database on an external Postgres server (Helm, prod:
  postgresql://user:password@host:5432/dagster). Unset: an embedded PostgreSQL server under
  `$FIN_HOME/dagster_home/postgres`, started on demand and stopped with its last user
  (fin_assets.instance_database).
- FIN_POOL_WAIT_LIMIT_SECONDS: how long a step may wait for a slot of its Dagster pool before
  its run fails saying who holds the slot (default 1800; fin_assets.instance_storage).
- FIN_RUN_LAUNCHER: `fork` (default: each run forked from a process that has imported the
  code location, fin_assets.run_launcher, with run monitoring; no fresh interpreter per run) or
  `code_server` (Dagster's own DefaultRunLauncher: the code server starts a fresh
  `dagster api execute_run` interpreter per run). Helm's prod instance uses Kubernetes'
  launcher instead (docs/scaling.md).
- FIN_REPORT_URL: where the market reports are served over HTTP, as the report's metadata
  links them (default http://127.0.0.1:3001, what `fin-assets dev` serves).
- FIN_UNIVERSE_FILE: the universe file (default: the checked-in fin_assets/universe/universe.yaml;
  benchmarks run larger universes with it). FIN_HISTORY_START: the first date of every daily
  dimension (default 2025-01-01; fin_assets.shared.partitions).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ENVIRONMENTS = ("local", "prod")
DAGSTER_STORAGES = ("postgres", "sqlite")
WAREHOUSES = ("duckdb", "snowflake")
MARKET_SOURCES = ("synthetic", "vendors")
SPARK_RUNNERS = ("local", "emr", "emr-serverless")
EXECUTORS = ("in_process", "k8s")
RUN_LAUNCHERS = ("fork", "code_server")
DEFAULT_POOL_WAIT_LIMIT_SECONDS = 1800
DEFAULT_REPORT_URL = "http://127.0.0.1:3001"
DEFAULT_HISTORY_START = "2025-01-01"
DEFAULT_LAKE_CACHE_MAX_BYTES = 512 << 20

# The switches' defaults per environment: (warehouse, market source, spark runner, executor).
ENVIRONMENT_DEFAULTS = {
    "local": ("duckdb", "synthetic", "local", "in_process"),
    "prod": ("snowflake", "vendors", "emr", "k8s"),
}


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one process."""

    home: Path
    env: str
    seed: int
    dagster_storage: str
    # Empty: FIN_HOME's embedded server (resolved by fin_assets.instance_database).
    dagster_pg_url: str
    lake_url: str
    warehouse: str
    market_source: str
    spark: str
    executor: str
    # Empty: the zone lives under lake_url.
    landing_url: str = ""
    raw_url: str = ""
    pool_wait_limit_seconds: int = DEFAULT_POOL_WAIT_LIMIT_SECONDS
    report_url: str = DEFAULT_REPORT_URL
    run_launcher: str = "fork"
    lake_cache_max_bytes: int = DEFAULT_LAKE_CACHE_MAX_BYTES

    @classmethod
    def local(cls, home: Path, dagster_pg_url: str, seed: int = 42) -> Settings:
        """The offline local environment in `home` on a Postgres instance (tests, benchmarks);
        an empty `dagster_pg_url` means the embedded server of `home`."""
        warehouse, market_source, spark, executor = ENVIRONMENT_DEFAULTS["local"]
        return cls(
            home=home,
            env="local",
            seed=seed,
            dagster_storage="postgres",
            dagster_pg_url=dagster_pg_url,
            lake_url=str(home / "lake"),
            warehouse=warehouse,
            market_source=market_source,
            spark=spark,
            executor=executor,
        )

    @property
    def lake_root(self) -> str:
        """The lake's root: a local folder path or an `s3://bucket/prefix` URI."""
        return self.lake_url

    @property
    def landing_root(self) -> str:
        """Root of the landing zone (landing/ and quarantine/ keys)."""
        return self.landing_url or self.lake_url

    @property
    def raw_root(self) -> str:
        """Root of the raw zone (raw/ keys)."""
        return self.raw_url or self.lake_url

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse" / "fin_assets.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster_home"

    @property
    def lake_cache_dir(self) -> Path:
        """The host's copies of an object-store lake's files (resources/lake_file_cache.py)."""
        return self.home / "lake_cache"

    def environment(self) -> dict[str, str]:
        """The environment variables from which get_settings() reads these settings (for a
        process that must build the same definitions, such as a code server)."""
        return {
            "FIN_HOME": str(self.home),
            "FIN_ENV": self.env,
            "FIN_SEED": str(self.seed),
            "FIN_DAGSTER_STORAGE": self.dagster_storage,
            "FIN_DAGSTER_PG_URL": self.dagster_pg_url,
            "FIN_LAKE_URL": self.lake_url,
            "FIN_WAREHOUSE": self.warehouse,
            "FIN_MARKET_SOURCE": self.market_source,
            "FIN_SPARK": self.spark,
            "FIN_EXECUTOR": self.executor,
            "FIN_LANDING_URL": self.landing_url,
            "FIN_RAW_URL": self.raw_url,
            "FIN_RUN_LAUNCHER": self.run_launcher,
            "FIN_LAKE_CACHE_MAX_BYTES": str(self.lake_cache_max_bytes),
        }


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = os.environ.get(name, default)
    if value not in allowed:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(allowed)}")
    return value


def get_settings() -> Settings:
    """Read the settings from the environment (see the module docstring)."""
    home = Path(os.environ.get("FIN_HOME", Path.home() / ".fin_assets")).expanduser().resolve()
    env = _choice("FIN_ENV", "local", ENVIRONMENTS)
    warehouse, market_source, spark, executor = ENVIRONMENT_DEFAULTS[env]
    return Settings(
        home=home,
        env=env,
        seed=int(os.environ.get("FIN_SEED", "42")),
        dagster_storage=_choice("FIN_DAGSTER_STORAGE", "postgres", DAGSTER_STORAGES),
        dagster_pg_url=os.environ.get("FIN_DAGSTER_PG_URL", ""),
        lake_url=os.environ.get("FIN_LAKE_URL", str(home / "lake")),
        warehouse=_choice("FIN_WAREHOUSE", warehouse, WAREHOUSES),
        market_source=_choice("FIN_MARKET_SOURCE", market_source, MARKET_SOURCES),
        spark=_choice("FIN_SPARK", spark, SPARK_RUNNERS),
        executor=_choice("FIN_EXECUTOR", executor, EXECUTORS),
        landing_url=os.environ.get("FIN_LANDING_URL", ""),
        raw_url=os.environ.get("FIN_RAW_URL", ""),
        pool_wait_limit_seconds=int(
            os.environ.get("FIN_POOL_WAIT_LIMIT_SECONDS", DEFAULT_POOL_WAIT_LIMIT_SECONDS)
        ),
        report_url=os.environ.get("FIN_REPORT_URL", DEFAULT_REPORT_URL),
        run_launcher=_choice("FIN_RUN_LAUNCHER", "fork", RUN_LAUNCHERS),
        lake_cache_max_bytes=int(
            os.environ.get("FIN_LAKE_CACHE_MAX_BYTES", DEFAULT_LAKE_CACHE_MAX_BYTES)
        ),
    )


def environ() -> dict[str, str]:
    """A snapshot of this process's environment, for the configuration blocks that parse their
    own variables from a mapping (module docstring)."""
    return dict(os.environ)


def export(values: Mapping[str, str]) -> None:
    """Set `values` in this process's environment, which Dagster and the child processes read."""
    os.environ.update(values)


@contextmanager
def exported(values: Mapping[str, str]) -> Iterator[None]:
    """`values` set in this process's environment inside the block (export), the variables'
    previous values (or their absence) restored after it."""
    previous = {name: os.environ.get(name) for name in values}
    export(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def universe_file() -> Path | None:
    """FIN_UNIVERSE_FILE (resolved), None when unset: the checked-in universe file."""
    value = os.environ.get("FIN_UNIVERSE_FILE")
    return Path(value).resolve() if value else None


def history_start() -> date:
    """FIN_HISTORY_START (ISO date), else 2025-01-01."""
    return date.fromisoformat(os.environ.get("FIN_HISTORY_START", DEFAULT_HISTORY_START))
