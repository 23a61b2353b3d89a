"""The warehouse's `bars_current` check: the rows of a fact derived from daily bars that were
computed from bars changed since (fin_assets.warehouse.staleness), over the whole table."""

import pandas as pd
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
from fin_assets.warehouse.model import DERIVED_FROM_BARS
from fin_assets.warehouse.staleness import REFRESH_COMMAND, STALE_PARTITIONS_SQL

STALE_CHECK = "bars_current"


def stale_evaluations(
    instance: DagsterInstance, warehouse: Warehouse, run_id: str
) -> list[AssetCheckEvaluation]:
    """`bars_current` of every fact derived from daily bars, over its whole table as it is now,
    each targeting the fact's latest materialization; `run_id`: the run that changed the bars."""
    return [
        whole_asset_evaluation(
            check_result(
                STALE_CHECK, stale_rows_result(warehouse, name), AssetCheckSeverity.WARN, asset=name
            ),
            AssetCheckKey(AssetKey(name), STALE_CHECK),
            run_id,
            latest_materialization(instance, AssetKey(name)),
        )
        for name in DERIVED_FROM_BARS
    ]


def stale_rows_result(warehouse: Warehouse, table: str) -> RuleResult:
    """`bars_current` over the whole of `table`: its stale rows, placed per symbol and date."""
    found = warehouse.query(STALE_PARTITIONS_SQL, [table])
    failed = {
        (None if pd.isna(symbol) else symbol, pd.Timestamp(day).date()): int(count)
        for symbol, day, count in found.itertuples(index=False)
    }
    stale = sum(failed.values())
    checked = int(warehouse.query(f"SELECT count(*) AS n FROM {table}")["n"].iloc[0])
    if stale:
        days = sorted(day for _, day in failed)
        detail = (
            f"{table}: {stale} rows ({days[0]}..{days[-1]}) computed from daily bars that "
            f"changed since; recompute them: {REFRESH_COMMAND}"
        )
    else:
        detail = f"{table}: every row computed from the current daily bars"
    return RuleResult(
        rule=STALE_CHECK,
        passed=not stale,
        failed_rows=stale,
        checked_rows=checked,
        sample=found.head(20),
        detail=detail,
        failed_partitions=failed,
    )
