"""The one place that chooses the adapters for an environment (FIN_ENV)."""

from __future__ import annotations

from typing import Any

from fin_assets.resources.market_data import SyntheticMarketSource
from fin_assets.resources.storage import DuckDBWarehouseResource, LakeResource
from fin_assets.settings import Settings


def resources_for(settings: Settings) -> dict[str, Any]:
    """Resources keyed as the assets require them: market_data, lake, warehouse."""
    if settings.env == "local":
        return {
            "market_data": SyntheticMarketSource(seed=settings.seed),
            "lake": LakeResource(root=str(settings.lake_root)),
            "warehouse": DuckDBWarehouseResource(path=str(settings.warehouse_path)),
        }
    raise ValueError(
        f"FIN_ENV={settings.env!r} is not available yet: the S3 lake, Snowflake warehouse and "
        "vendor connectors arrive with their own issues; use FIN_ENV=local"
    )
