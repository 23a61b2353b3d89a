"""Risk: per-symbol risk metrics, portfolio VaR and correlations."""

from dagster import Definitions, load_assets_from_modules

from fin_assets.defs.common.automation import with_automation
from fin_assets.defs.risk import assets

defs = Definitions(assets=with_automation(load_assets_from_modules([assets])))
