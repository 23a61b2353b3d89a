"""Risk: per-symbol risk metrics, portfolio VaR and correlations."""

from dagster import Definitions

from fin_assets.defs.common.automation import with_automation
from fin_assets.defs.common.partitions import GraphPartitions
from fin_assets.defs.risk import assets


def build_defs(partitions: GraphPartitions) -> Definitions:
    """The domain's definitions on `partitions`."""
    return Definitions(assets=with_automation(assets.build_assets(partitions)))
