"""Dagster resources over the lake and the warehouse adapters.

Staged runs (write-audit-publish, docs/reliability.md): a run is staged when its tag
STAGED_RUN_TAG names the run itself — set by fin_assets.defs.common.publish before any of the run's
steps starts. The resources initialized for such a run, in whatever process its step runs (the
run worker, a step subprocess, a step pod), stage what it writes: the lake writes its
partitions in the run's staging folder, the fact and dimension loads go to run-scoped staging
tables. Outside such a run (a plain `materialize`, the CLI, sensors) they write directly, as
before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.lake_file_cache import LakeFileCache
from fin_assets.resources.warehouse import Warehouse
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.settings import DEFAULT_LAKE_CACHE_MAX_BYTES

# The run tag of a staged run (module docstring); its value is the run's own id, so that a
# re-execution, which copies its parent's tags, is not taken for a staged run by them.
STAGED_RUN_TAG = "fin/staged_run"


def staged_run_of(context: InitResourceContext) -> str | None:
    """The run id when the resource is initialized for a staged run, else None.

    The tag is looked up on the run the step was given, then on the instance's record of the
    run: in-process and subprocess steps are given the run as the run worker loaded it, before
    the publishing executor tagged it (a step pod loads the run anew, tag included)."""
    run = context.run
    if run is None:
        return None
    if run.tags.get(STAGED_RUN_TAG) == run.run_id:
        return run.run_id
    stored = context.instance.get_run_by_id(run.run_id) if context.instance else None
    staged = stored is not None and stored.tags.get(STAGED_RUN_TAG) == run.run_id
    return run.run_id if staged else None


class LakeResource(ConfigurableResource):
    """The Parquet lake: a local folder, or an object-store URI (s3://bucket/prefix).

    `root` holds the curated datasets (and is what Spark jobs read and write);
    `landing_root` the landing zone (`landing/` and `quarantine/` keys, so a rejected file is
    quarantined within its bucket) and `raw_root` the raw zone (`raw/` keys). An empty zone
    root means `root` (fin_assets.resources.object_store explains zones). `file_cache_dir`,
    when set, is the local folder of copies (`file_cache_max_bytes` at most) the lakes of every
    process of the host share for an object-store lake's partition files
    (fin_assets.resources.lake_file_cache).
    """

    root: str
    landing_root: str = ""
    raw_root: str = ""
    file_cache_dir: str = ""
    file_cache_max_bytes: int = DEFAULT_LAKE_CACHE_MAX_BYTES
    _run_lake: ParquetLake | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """One lake for the run's steps (they share its read cache: see ParquetLake), staging
        the run's writes when the run is staged (module docstring)."""
        self._run_lake = self._open_lake(staged_run_of(context))

    def get_lake(self) -> ParquetLake:
        """The run's lake inside a run (or sensor tick); a new one elsewhere (CLI, tests)."""
        return self._run_lake if self._run_lake is not None else self._open_lake()

    def get_sensor_lake(self) -> ParquetLake:
        """The lake every tick of a sensor shares in its process (the code server), never
        staged: its read cache outlives a tick, so a tick reads only the partition files that
        are new or changed since the ticks before (the cache is keyed by each file's path, size
        and modification time: ParquetLake). A sensor's ticks run one at a time."""
        return _shared_lake(
            self.root,
            self.landing_root,
            self.raw_root,
            self.file_cache_dir,
            self.file_cache_max_bytes,
        )

    def _open_lake(self, staging_run: str | None = None) -> ParquetLake:
        return _zoned_lake(
            self.root,
            self.landing_root,
            self.raw_root,
            _file_cache(self.file_cache_dir, self.file_cache_max_bytes),
            staging_run,
        )


def _file_cache(directory: str, max_bytes: int) -> LakeFileCache | None:
    return LakeFileCache(Path(directory), max_bytes) if directory else None


def _zoned_lake(
    root: str,
    landing_root: str,
    raw_root: str,
    file_cache: LakeFileCache | None,
    staging_run: str | None = None,
) -> ParquetLake:
    """The lake of `root` with its landing and raw zones (an empty root means `root`) and its
    file cache."""
    landing = landing_root or root
    return ParquetLake(
        root,
        {"landing": landing, "quarantine": landing, "raw": raw_root or root},
        staging_run,
        file_cache,
    )


@cache
def _shared_lake(
    root: str, landing_root: str, raw_root: str, file_cache_dir: str, file_cache_max_bytes: int
) -> ParquetLake:
    return _zoned_lake(
        root, landing_root, raw_root, _file_cache(file_cache_dir, file_cache_max_bytes)
    )


class WarehouseResource(ConfigurableResource):
    """A warehouse engine: the assets take this type, the environment picks the subclass.

    `staged_run` is the run whose loads are staged (module docstring), None when they are
    applied directly."""

    _staged_run: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._staged_run = staged_run_of(context)

    @property
    def staged_run(self) -> str | None:
        return self._staged_run

    def get_warehouse(self) -> Warehouse:
        """The engine's warehouse, its schema migrated."""
        raise NotImplementedError(f"{type(self).__name__} does not define get_warehouse")


class DuckDBWarehouseResource(WarehouseResource):
    """The local warehouse: one DuckDB file."""

    path: str

    def get_warehouse(self) -> DuckDBWarehouse:
        warehouse = DuckDBWarehouse(self.path)
        warehouse.ensure_schema()
        return warehouse


@contextmanager
def opened_warehouse(resource: WarehouseResource) -> Iterator[Warehouse]:
    """The warehouse of `resource` outside a run (the CLI, tests): EnvVars resolved."""
    with resource.process_config_and_initialize_cm() as resolved:
        yield resolved.get_warehouse()
