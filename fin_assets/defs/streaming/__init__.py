"""Streaming: the status of the stream's landing writer, read on a schedule."""

from dagster import Definitions, load_assets_from_modules

from fin_assets.defs.common.automation import with_automation
from fin_assets.defs.common.partitions import GraphPartitions
from fin_assets.defs.streaming import assets


def build_defs(partitions: GraphPartitions) -> Definitions:
    """The domain's definitions (unpartitioned: `partitions` is not used)."""
    return Definitions(
        assets=with_automation(load_assets_from_modules([assets])),
        jobs=[assets.stream_status_job],
        schedules=[assets.stream_status_schedule],
    )
