"""Dagster resources over the lake and the warehouse adapters.

Staged runs (write-audit-publish, docs/reliability.md): while `STAGED_RUN` holds a run's id —
set by fin_assets.defs.publish around the execution of that run — the resources initialized
for it stage what it writes: the lake writes its partitions in the run's staging folder, the
fact loads go to run-scoped staging tables. Outside such a run (a plain `materialize`, the CLI,
sensors) they write directly, as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.warehouse import Warehouse
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse

# The id of the run whose writes are being staged in this process (module docstring).
STAGED_RUN: ContextVar[str | None] = ContextVar("fin_staged_run", default=None)


def staged_run_of(context: InitResourceContext) -> str | None:
    """The run id when the resource is initialized for the run being staged, else None."""
    run_id = context.run.run_id if context.run is not None else None
    return run_id if run_id is not None and STAGED_RUN.get() == run_id else None


class LakeResource(ConfigurableResource):
    """The Parquet lake: a local folder, or an object-store URI (s3://bucket/prefix).

    `root` holds the curated datasets (and is what Spark jobs read and write);
    `landing_root` the landing zone (`landing/` and `quarantine/` keys, so a rejected file is
    quarantined within its bucket) and `raw_root` the raw zone (`raw/` keys). An empty zone
    root means `root` (fin_assets.resources.object_store explains zones).
    """

    root: str
    landing_root: str = ""
    raw_root: str = ""
    _run_lake: ParquetLake | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """One lake for the run's steps (they share its read cache: see ParquetLake), staging
        the run's writes when the run is staged (module docstring)."""
        self._run_lake = self._open_lake(staged_run_of(context))

    def get_lake(self) -> ParquetLake:
        """The run's lake inside a run (or sensor tick); a new one elsewhere (CLI, tests)."""
        return self._run_lake if self._run_lake is not None else self._open_lake()

    def _open_lake(self, staging_run: str | None = None) -> ParquetLake:
        landing = self.landing_root or self.root
        return ParquetLake(
            self.root,
            {"landing": landing, "quarantine": landing, "raw": self.raw_root or self.root},
            staging_run,
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
