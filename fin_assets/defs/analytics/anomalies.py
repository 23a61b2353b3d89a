"""Anomalies of the daily bars: return outliers, volume spikes, stale prices, calendar gaps."""

from collections.abc import Iterator
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    asset,
)

from fin_assets.analytics.anomalies import ANOMALY_KINDS, detect_anomalies
from fin_assets.analytics.schemas import ANOMALIES
from fin_assets.defs.common.checks import check_result, check_specs, with_run_checks
from fin_assets.defs.common.partition_metadata import record_partition_rows
from fin_assets.defs.common.partition_scope import date_symbol_scope
from fin_assets.defs.common.partitions import GraphPartitions
from fin_assets.resources.storage import LakeResource
from fin_assets.shared.check_rules import anomaly_result
from fin_assets.shared.lake_io import (
    daily_histories,
    from_date,
    in_scope_order,
    write_symbol_partitions,
)
from fin_assets.universe import load_universe


def anomalies(context: AssetExecutionContext, lake: LakeResource) -> Iterator[Any]:
    """Flagged (symbol, date, anomaly) rows: robust (median/MAD) return z-scores above 5,
    volume above 5x its 60-day median, 3+ unchanged closes, missing exchange sessions.

    Each symbol is scanned over its whole daily history, so a partition's flags do not depend
    on how partitions were run; the symbols' histories are scanned together (the detectors
    group by symbol). The checks warn and never block: anomalies are for review.
    """
    scope = date_symbol_scope(context)
    store = lake.get_lake()
    calendars = {s.symbol: s.calendar for s in load_universe()}
    histories = pd.concat(daily_histories(store, scope), ignore_index=True)
    flagged = in_scope_order(detect_anomalies(histories, calendars), scope)
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


def build_assets(partitions: GraphPartitions) -> list[AssetsDefinition]:
    """The anomalies asset on `partitions`."""
    return [
        asset(
            group_name="analytics",
            partitions_def=partitions.date_symbol_partitions,
            backfill_policy=BackfillPolicy.single_run(),
            # The same date's daily bars (the look-back: automation.LOOKBACKS).
            deps=["daily_bars"],
            check_specs=check_specs("anomalies", warning=list(ANOMALY_KINDS)),
            kinds={"parquet", "pandas"},
        )(anomalies),
    ]
