"""Operations: the vendor pull schedules, freshness SLAs, run failure alerts and the weekly
Spark compaction of the lake (one file per symbol-year: a schedule, not automation)."""

from dagster import Definitions

from fin_assets.defs.operations.alerts import run_failure_alert
from fin_assets.defs.operations.compaction import (
    compacted_assets,
    lake_compaction_job,
    lake_compaction_schedule,
)
from fin_assets.defs.operations.freshness import freshness_checks, freshness_sensor
from fin_assets.defs.operations.schedules import vendor_pull_job, vendor_pull_schedules

defs = Definitions(
    assets=compacted_assets,
    asset_checks=[freshness_checks],
    jobs=[vendor_pull_job, lake_compaction_job],
    schedules=[*vendor_pull_schedules, lake_compaction_schedule],
    sensors=[run_failure_alert, freshness_sensor],
)
