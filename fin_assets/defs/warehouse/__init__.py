"""Warehouse: dimensions and facts loaded from the lake, and the market report read from them
(refreshed by report_job, not by automation)."""

from dagster import Definitions, load_assets_from_modules

from fin_assets.defs.common.automation import with_automation
from fin_assets.defs.warehouse import assets, report

defs = Definitions(
    assets=[
        *with_automation(load_assets_from_modules([assets])),
        *load_assets_from_modules([report]),
    ],
    jobs=[report.report_job],
)
