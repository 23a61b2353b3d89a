"""The one place that chooses the adapters for an environment (see fin_assets.settings).

FIN_ENV picks the defaults; each switch (lake URL, warehouse, market source, Spark runner,
executor) can be set on its own, so the same code runs offline and against the cloud.
"""

from __future__ import annotations

from typing import Any

from fin_assets.resources.market_data import SyntheticMarketSource
from fin_assets.resources.storage import DuckDBWarehouseResource, LakeResource
from fin_assets.settings import Settings


def _not_available(switch: str, value: str) -> ValueError:
    return ValueError(f"{switch}={value!r} is not available yet in this build")


def market_data_resource(settings: Settings) -> Any:
    if settings.market_source == "synthetic":
        return SyntheticMarketSource(seed=settings.seed)
    raise _not_available("FIN_MARKET_SOURCE", settings.market_source)


def warehouse_resource(settings: Settings) -> Any:
    if settings.warehouse == "duckdb":
        return DuckDBWarehouseResource(path=str(settings.warehouse_path))
    raise _not_available("FIN_WAREHOUSE", settings.warehouse)


def resources_for(settings: Settings) -> dict[str, Any]:
    """Resources keyed as the assets require them: market_data, lake, warehouse."""
    return {
        "market_data": market_data_resource(settings),
        "lake": LakeResource(root=settings.lake_root),
        "warehouse": warehouse_resource(settings),
    }
