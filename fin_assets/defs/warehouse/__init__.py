"""Warehouse: dimensions and facts loaded from the lake, and the market report read from them
(refreshed by report_job, not by automation)."""

from dagster import Definitions, load_assets_from_modules

from fin_assets.defs.common.automation import with_automation
from fin_assets.defs.common.partitions import GraphPartitions
from fin_assets.defs.warehouse import assets, report


def build_defs(partitions: GraphPartitions) -> Definitions:
    """The domain's definitions on `partitions`."""
    return Definitions(
        assets=[
            *with_automation(assets.build_assets(partitions)),
            *load_assets_from_modules([report]),
        ],
        jobs=[report.report_job],
    )
