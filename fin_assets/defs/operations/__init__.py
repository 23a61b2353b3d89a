"""Operations: the vendor pull schedules, freshness SLAs, run failure alerts and the weekly
Spark compaction of the lake (one file per symbol-year: a schedule, not automation)."""

from dagster import Definitions

from fin_assets.defs.common.partitions import GraphPartitions
from fin_assets.defs.operations.alerts import run_failure_alert_sensor
from fin_assets.defs.operations.compaction import (
    compacted_assets,
    lake_compaction_job,
    lake_compaction_schedule,
)
from fin_assets.defs.operations.freshness import freshness_checks, freshness_sensor
from fin_assets.defs.operations.schedules import vendor_pull_job, vendor_pull_schedules


def build_defs(partitions: GraphPartitions) -> Definitions:
    """The domain's definitions (the schedules read the universe; `partitions` is not used)."""
    return Definitions(
        assets=compacted_assets,
        asset_checks=[freshness_checks],
        jobs=[vendor_pull_job, lake_compaction_job],
        schedules=[*vendor_pull_schedules(), lake_compaction_schedule],
        sensors=[run_failure_alert_sensor(), freshness_sensor],
    )
