"""Dagster resources over the lake and the warehouse adapters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.warehouse import DuckDBWarehouse, Warehouse


class LakeResource(ConfigurableResource):
    """The Parquet lake: a local folder, or an object-store URI (s3://bucket/prefix).

    `root` holds the curated datasets (and is what Spark jobs read and write);
    `landing_root` the landing zone (`landing/` and `quarantine/` keys, so a rejected file is
    quarantined within its bucket) and `raw_root` the raw zone (`raw/` keys). An empty zone
    root means `root` (fin_assets.resources.lake explains zones).
    """

    root: str
    landing_root: str = ""
    raw_root: str = ""
    _run_lake: ParquetLake | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """One lake for the run's steps (they share its read cache: see ParquetLake)."""
        self._run_lake = self._open_lake()

    def get_lake(self) -> ParquetLake:
        """The run's lake inside a run (or sensor tick); a new one elsewhere (CLI, tests)."""
        return self._run_lake if self._run_lake is not None else self._open_lake()

    def _open_lake(self) -> ParquetLake:
        landing = self.landing_root or self.root
        return ParquetLake(
            self.root,
            {"landing": landing, "quarantine": landing, "raw": self.raw_root or self.root},
        )


class WarehouseResource(ConfigurableResource):
    """A warehouse engine: the assets take this type, the environment picks the subclass."""

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
