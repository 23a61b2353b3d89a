"""Analytics: technical indicators, trading signals and anomalies of the daily bars."""

from dagster import Definitions

from fin_assets.defs.analytics import anomalies, assets
from fin_assets.defs.common.automation import with_automation
from fin_assets.defs.common.partitions import GraphPartitions


def build_defs(partitions: GraphPartitions) -> Definitions:
    """The domain's definitions on `partitions`."""
    return Definitions(
        assets=with_automation(
            [*assets.build_assets(partitions), *anomalies.build_assets(partitions)]
        )
    )
