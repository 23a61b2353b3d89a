"""Ingest: raw_quotes from the vendors or the landing zone, and the landing sensor and job."""

from dagster import Definitions, load_assets_from_modules

from fin_assets.defs.common.automation import with_automation
from fin_assets.defs.ingest import raw_quotes
from fin_assets.defs.ingest.landing import landing_job, landing_sensor

defs = Definitions(
    assets=with_automation(load_assets_from_modules([raw_quotes])),
    jobs=[landing_job],
    sensors=[landing_sensor],
)
