"""Ingest: raw_quotes from the vendors or the landing zone, and the landing sensor and job."""

from dagster import Definitions

from fin_assets.defs.common.automation import with_automation
from fin_assets.defs.common.partitions import GraphPartitions
from fin_assets.defs.ingest import raw_quotes
from fin_assets.defs.ingest.landing import landing_job, landing_sensor


def build_defs(partitions: GraphPartitions) -> Definitions:
    """The domain's definitions on `partitions`."""
    return Definitions(
        assets=with_automation(raw_quotes.build_assets(partitions)),
        jobs=[landing_job(partitions)],
        sensors=[landing_sensor],
    )
