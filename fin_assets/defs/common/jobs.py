"""The jobs across the domains' groups, one per partitions definition, so one run can process
a whole range (fin_assets.defs.common.selections):

- symbol_history_job: the date × symbol assets of the signal path's groups, raw quotes to
  warehouse facts.
- portfolio_job: the date-partitioned assets of the risk and warehouse groups: portfolio risk
  and correlations, and their warehouse facts.
- reference_job: the unpartitioned assets of the warehouse group: the dimensions.

None runs the freshness checks (fin_assets.defs.operations.freshness evaluates them).
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from fin_assets.defs.common.partitions import GraphPartitions
from fin_assets.defs.common.selections import partitioned_as, without_freshness_checks

# The groups a day's quotes go through, in order.
SIGNAL_PATH_GROUPS = ("ingest", "bars", "analytics", "risk", "warehouse")


def symbol_history(partitions: GraphPartitions) -> AssetSelection:
    """The date × symbol assets of the signal path's groups, without the freshness checks."""
    return without_freshness_checks(
        partitioned_as(SIGNAL_PATH_GROUPS, partitions.date_symbol_partitions)
    )


def cross_domain_jobs(partitions: GraphPartitions) -> list[UnresolvedAssetJobDefinition]:
    """symbol_history_job, portfolio_job and reference_job on `partitions`."""
    return [
        define_asset_job(
            "symbol_history_job",
            selection=symbol_history(partitions),
            description="Raw quotes → bars → indicators → signals → risk → facts, date × symbol "
            "range.",
        ),
        define_asset_job(
            "portfolio_job",
            selection=without_freshness_checks(
                partitioned_as(("risk", "warehouse"), partitions.date_partitions)
            ),
            description="Portfolio VaR and correlations per session, and their warehouse facts.",
        ),
        define_asset_job(
            "reference_job",
            selection=partitioned_as(("warehouse",), None),
            description="Warehouse dimensions: dim_symbol (from the universe file) and dim_date.",
        ),
    ]


def job_assets(definitions: Definitions, job_name: str) -> tuple[str, ...]:
    """The names of the assets `job_name` materializes, upstream first."""
    graph = definitions.resolve_asset_graph()
    job = definitions.resolve_job_def(job_name)
    selected = job.asset_layer.selected_asset_keys
    return tuple(key.to_user_string() for key in graph.toposorted_asset_keys if key in selected)
