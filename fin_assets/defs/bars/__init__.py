"""Bars: one-minute bars from the raw payloads, daily bars from them."""

from dagster import Definitions, load_assets_from_modules

from fin_assets.defs.bars import assets
from fin_assets.defs.common.automation import with_automation

defs = Definitions(assets=with_automation(load_assets_from_modules([assets])))
