"""Anomalies of the daily bars: return outliers, volume spikes, stale prices, calendar gaps."""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckSeverity,
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    asset,
)

from fin_assets.analytics.anomalies import ANOMALY_KINDS, detect_anomalies
from fin_assets.analytics.schemas import ANOMALIES
from fin_assets.defs.common.checks import check_result, check_specs, with_run_checks
from fin_assets.defs.common.partition_metadata import record_partition_rows
from fin_assets.defs.common.partition_scope import date_symbol_scope
from fin_assets.defs.common.partitions import (
    date_symbol_partitions,
)
from fin_assets.resources.storage import LakeResource
from fin_assets.shared.check_rules import anomaly_result
from fin_assets.shared.lake_io import from_date, over_daily_history, write_symbol_partitions
from fin_assets.universe import load_universe


@asset(
    group_name="analytics",
    partitions_def=date_symbol_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    deps=["daily_bars"],  # same date; the look-back: fin_assets.defs.common.automation.LOOKBACKS
    check_specs=check_specs("anomalies", warning=list(ANOMALY_KINDS)),
    kinds={"parquet", "pandas"},
)
def anomalies(context: AssetExecutionContext, lake: LakeResource) -> Iterator[Any]:
    """Flagged (symbol, date, anomaly) rows: robust (median/MAD) return z-scores above 5,
    volume above 5x its 60-day median, 3+ unchanged closes, missing exchange sessions.

    Each symbol is scanned over its whole daily history, so a partition's flags do not depend
    on how partitions were run. The checks warn and never block: anomalies are for review.
    """
    scope = date_symbol_scope(context)
    store = lake.get_lake()
    calendars = {s.symbol: s.calendar for s in load_universe()}
    flagged = over_daily_history(store, scope, lambda bars: detect_anomalies(bars, calendars))
    frame = from_date(flagged, scope.start)
    written = write_symbol_partitions(store, "anomalies", ANOMALIES, frame, scope)
    record_partition_rows(context, written)
    result = MaterializeResult(
        metadata={"rows_in_run": written.total, "partitions": scope.partition_count},
        check_results=[
            check_result(
                kind,
                anomaly_result(frame, kind, scope.partition_count),
                AssetCheckSeverity.WARN,
            )
            for kind in ANOMALY_KINDS
        ],
    )
    yield from with_run_checks(context, result)
