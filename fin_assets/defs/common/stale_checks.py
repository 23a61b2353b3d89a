"""The warehouse's `bars_current` check: the rows of a fact derived from daily bars that were
computed from bars changed since (fin_assets.warehouse.staleness), over the whole table."""

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    DagsterInstance,
)

from fin_assets.analytics.quality import RuleResult
from fin_assets.defs.common.checks import (
    check_result,
    latest_materialization,
    whole_asset_evaluation,
)
from fin_assets.resources.warehouse import Warehouse
from fin_assets.warehouse.check_rules import BARS_CURRENT, bars_current_result
from fin_assets.warehouse.model import DERIVED_FROM_BARS
from fin_assets.warehouse.queries import row_count_sql
from fin_assets.warehouse.staleness import STALE_PARTITIONS_SQL

STALE_CHECK = BARS_CURRENT


def stale_evaluations(
    instance: DagsterInstance, warehouse: Warehouse, run_id: str
) -> list[AssetCheckEvaluation]:
    """`bars_current` of every fact derived from daily bars, over its whole table as it is now,
    each targeting the fact's latest materialization; `run_id`: the run that changed the bars."""
    with warehouse.connected():
        results = {name: stale_rows_result(warehouse, name) for name in DERIVED_FROM_BARS}
    return [
        whole_asset_evaluation(
            check_result(STALE_CHECK, result, AssetCheckSeverity.WARN, asset=name),
            AssetCheckKey(AssetKey(name), STALE_CHECK),
            run_id,
            latest_materialization(instance, AssetKey(name)),
        )
        for name, result in results.items()
    ]


def stale_rows_result(warehouse: Warehouse, table: str) -> RuleResult:
    """`bars_current` over the whole of `table`: its stale rows, placed per symbol and date."""
    stale = warehouse.query(STALE_PARTITIONS_SQL, [table])
    checked = int(warehouse.query(row_count_sql(table))["n"].iloc[0])
    return bars_current_result(table, stale, checked)
