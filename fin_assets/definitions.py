"""The fin_assets code location: `dagster dev` loads `defs` from here (see workspace.yaml).

Each domain folder of fin_assets/defs builds its assets, checks, jobs, schedules and sensors on
the graph's partitions (`build_defs(partitions)`); they are merged here with the jobs across
domains and the automation sensor (fin_assets.defs.common), the catalog attributes of every
asset, and the resources and executor of the settings.

`defs` is built when Dagster loads the code location (`@definitions`), not when this module is
imported: the settings, the universe file and the history start are read then, once per process
(no module of fin_assets reads them at import).
"""

from collections.abc import Mapping
from functools import cache
from typing import Any

from dagster import Definitions, definitions

from fin_assets.analytics.market_calendar import load_calendars
from fin_assets.defs import analytics, bars, ingest, operations, risk, streaming, warehouse
from fin_assets.defs.catalog import with_catalog
from fin_assets.defs.common.automation import automation_sensor
from fin_assets.defs.common.jobs import cross_domain_jobs
from fin_assets.defs.common.partitions import GraphPartitions, graph_partitions
from fin_assets.executors import executor_for
from fin_assets.resources.environments import resources_for
from fin_assets.settings import Settings, get_settings
from fin_assets.universe import load_universe


def graph_definitions(partitions: GraphPartitions) -> Definitions:
    """Every domain's definitions on `partitions`, the jobs across domains and the automation
    sensor: the graph, without the catalog attributes, resources and executor."""
    return Definitions.merge(
        *(
            domain.build_defs(partitions)
            for domain in (ingest, bars, analytics, risk, warehouse, streaming, operations)
        ),
        Definitions(jobs=cross_domain_jobs(partitions), sensors=[automation_sensor]),
    )


def build_definitions(
    settings: Settings, resource_overrides: Mapping[str, Any] | None = None
) -> Definitions:
    """Every asset, check and job, on the process's partitions (graph_partitions), with the
    resources of `settings.env` (or the overrides)."""
    domains = graph_definitions(graph_partitions())
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
    definitions = build_definitions(get_settings())
    # The exchange calendars of the universe, which the landing sensor's ticks and the runs'
    # steps use: built with the definitions, not by the first tick or step that needs them.
    load_calendars({symbol.calendar for symbol in load_universe()})
    return definitions


def prepare_run_workers() -> None:
    """Build what every run worker of this process's settings builds first: the definitions
    (with the universe's exchange calendars) and their repository. The fork run launcher's server
    calls it once before forking (fin_assets.fork_server), so that each worker inherits them."""
    _process_definitions().get_repository_def()
