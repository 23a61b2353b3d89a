"""Analytics: technical indicators, trading signals and anomalies of the daily bars."""

from dagster import Definitions, load_assets_from_modules

from fin_assets.defs.analytics import anomalies, assets
from fin_assets.defs.common.automation import with_automation

defs = Definitions(assets=with_automation(load_assets_from_modules([assets, anomalies])))
