"""The fin_assets code location: `dagster dev` loads `defs` from here (see workspace.yaml).

Each domain folder of fin_assets/defs exports its assets, checks, jobs, schedules and sensors as
a `defs` Definitions; they are merged here with the jobs across domains and the automation
sensor (fin_assets.defs.common), the catalog attributes of every asset, and the resources and
executor of the settings.

`defs` is built when Dagster loads the code location (`@definitions`), not when this module is
imported: the settings are read then, once per process.
"""

from collections.abc import Mapping
from functools import cache
from typing import Any

from dagster import Definitions, definitions

from fin_assets.defs import analytics, bars, ingest, operations, risk, streaming, warehouse
from fin_assets.defs.catalog import with_catalog
from fin_assets.defs.common.automation import automation_sensor
from fin_assets.defs.common.jobs import portfolio_job, reference_job, symbol_history_job
from fin_assets.executors import executor_for
from fin_assets.resources.environments import resources_for
from fin_assets.settings import Settings, get_settings


def build_definitions(
    settings: Settings, resource_overrides: Mapping[str, Any] | None = None
) -> Definitions:
    """Every asset, check and job, with the resources of `settings.env` (or the overrides)."""
    domains = Definitions.merge(
        ingest.defs,
        bars.defs,
        analytics.defs,
        risk.defs,
        warehouse.defs,
        streaming.defs,
        operations.defs,
        Definitions(
            jobs=[symbol_history_job, portfolio_job, reference_job], sensors=[automation_sensor]
        ),
    )
    return Definitions(
        # Column schema, location, owners, code version and kinds (fin_assets.defs.catalog).
        assets=with_catalog(list(domains.assets or []), settings),
        asset_checks=domains.asset_checks,
        jobs=domains.jobs,
        schedules=domains.schedules,
        sensors=domains.sensors,
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
