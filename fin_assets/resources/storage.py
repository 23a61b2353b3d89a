"""Dagster resources over the lake and the warehouse adapters."""

from __future__ import annotations

from dagster import ConfigurableResource

from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.warehouse import DuckDBWarehouse


class LakeResource(ConfigurableResource):
    """The Parquet lake: a local folder, or an object-store URI (s3://bucket/prefix)."""

    root: str

    def get_lake(self) -> ParquetLake:
        return ParquetLake(self.root)


class DuckDBWarehouseResource(ConfigurableResource):
    """The local warehouse: one DuckDB file."""

    path: str

    def get_warehouse(self) -> DuckDBWarehouse:
        warehouse = DuckDBWarehouse(self.path)
        warehouse.ensure_schema()
        return warehouse
