"""The fin_assets code location: `dagster dev` loads `defs` from here (see workspace.yaml).

`defs` is built when Dagster loads the code location (`@definitions`), not when this module is
imported: the settings are read then, once per process.
"""

from collections.abc import Mapping
from functools import cache
from typing import Any

from dagster import Definitions, definitions, load_assets_from_modules

from fin_assets.defs import analytics, anomalies, bars, ingest, report, risk, streaming, warehouse
from fin_assets.defs.alerts import run_failure_alert
from fin_assets.defs.automation import automation_sensor, with_automation
from fin_assets.defs.catalog import with_catalog
from fin_assets.defs.compaction import (
    compacted_assets,
    lake_compaction_job,
    lake_compaction_schedule,
)
from fin_assets.defs.freshness import freshness_checks, freshness_sensor
from fin_assets.defs.jobs import portfolio_job, reference_job, symbol_history_job
from fin_assets.defs.landing import landing_job, landing_sensor
from fin_assets.defs.report import report_job
from fin_assets.defs.schedules import vendor_pull_job, vendor_pull_schedules
from fin_assets.defs.streaming import stream_status_job, stream_status_schedule
from fin_assets.executors import executor_for
from fin_assets.resources.environments import resources_for
from fin_assets.settings import Settings, get_settings


def build_definitions(
    settings: Settings, resource_overrides: Mapping[str, Any] | None = None
) -> Definitions:
    """Every asset, check and job, with the resources of `settings.env` (or the overrides)."""
    return Definitions(
        # Column schema, location, owners, code version and kinds (fin_assets.defs.catalog).
        assets=with_catalog(
            [
                *with_automation(
                    load_assets_from_modules(
                        [ingest, bars, analytics, anomalies, risk, warehouse, streaming]
                    )
                ),
                # Refreshed by report_job, not by automation (see fin_assets.defs.report).
                *load_assets_from_modules([report]),
                # Spark copies of the lake, one file per symbol-year: weekly schedule, not
                # automation.
                *compacted_assets,
            ],
            settings,
        ),
        # Freshness SLAs by the market calendar (fin_assets.defs.freshness).
        asset_checks=[freshness_checks],
        jobs=[
            symbol_history_job,
            portfolio_job,
            reference_job,
            vendor_pull_job,
            landing_job,
            report_job,
            lake_compaction_job,
            stream_status_job,
        ],
        schedules=[*vendor_pull_schedules, lake_compaction_schedule, stream_status_schedule],
        sensors=[automation_sensor, run_failure_alert, landing_sensor, freshness_sensor],
        resources={**resources_for(settings), **(resource_overrides or {})},
        # FIN_EXECUTOR: in-process (one step at a time) or a Kubernetes pod per step.
        executor=executor_for(settings),
    )


def op_pools(definitions: Definitions) -> set[str]:
    """Every concurrency pool an op of the code location takes."""
    return {
        op_def.pool
        for job in definitions.resolve_all_job_defs()
        for op_def in job.graph.iterate_op_defs()
        if op_def.pool
    }


@definitions
def defs() -> Definitions:
    """The definitions of this process's settings (fin_assets.settings.get_settings)."""
    return _process_definitions()


@cache
def _process_definitions() -> Definitions:
    return build_definitions(get_settings())
