"""Bars: one-minute bars from the raw payloads, daily bars from them."""

from dagster import Definitions

from fin_assets.defs.bars import assets
from fin_assets.defs.common.automation import with_automation
from fin_assets.defs.common.partitions import GraphPartitions


def build_defs(partitions: GraphPartitions) -> Definitions:
    """The domain's definitions on `partitions`."""
    return Definitions(assets=with_automation(assets.build_assets(partitions)))
