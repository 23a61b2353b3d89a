"""Turning the analytics quality rules into Dagster asset check specs and results.

A run evaluates each check once over the range it wrote (one evaluation per check and run:
per-partition evaluations cost a database round trip each, hours for the demo's 7,000
partitions per asset). So that no status in the UI contradicts the data, an evaluation states
the check's outcome for the whole asset, not only for the run's range:
- the failures a rule finds are placed on partitions (RuleResult.failed_partitions) and kept as
  `failing_partitions` entries [symbol, first date, last date, rows, run id] (symbol null: every
  symbol of a date-partitioned asset); a failure that cannot be placed covers the run's range;
- each evaluation carries forward the failing entries of the check's previous evaluations that
  the run did not rewrite (`covered`: the run's symbols × dates), so a later run over other
  partitions never hides an earlier failure; rewriting a failing partition clears it;
- the evaluation passes only when no entry is left; it blocks (fails the step) only for the
  run's own ERROR failures; its description says what the run found and what is still failing;
- it points at the run's materialization of the asset (target materialization), so the UI
  counts it as the asset's current check result.
Every evaluation names the range it covers (`run_range`) in the check's history.

A check of WHOLE_ASSET_CHECKS reads the whole asset's current state (e.g. the warehouse's stale
rows, which a later load of another asset can create): its evaluation states that outcome as
is, with nothing carried forward, and may be reported by another asset's step
(`whole_asset_evaluation`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    MaterializeResult,
    MetadataValue,
    MultiPartitionKey,
    Output,
)
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster_shared.record import replace

from fin_assets.analytics.quality import RuleResult
from fin_assets.shared.partitions import partition_values

# Metadata key of a run-level AssetCheckResult placing its failures: [[symbol, date, rows], ...]
# with null for "every symbol" / "every date" (see RuleResult.failed_partitions).
FAILED_PARTITIONS = "failed_partitions"
# Metadata keys of an evaluation: the failures still standing, and the run's rectangle.
FAILING = "failing_partitions"
COVERED = "covered"
# Previous evaluations of a check folded into a new one (covers runs evaluated concurrently).
HISTORY = 20
# Checks whose rule reads the whole asset's current state (module docstring).
WHOLE_ASSET_CHECKS = frozenset({"bars_current"})


# What each check verifies, by check name (the same rule has the same name on every asset).
CHECK_DESCRIPTIONS: dict[str, str] = {
    "schema": "Exactly the dataset's columns, in order, each convertible to its Arrow type.",
    "unique_key": "No two rows share the table's key.",
    "ohlc_consistency": "low <= min(open, close) and high >= max(open, close) on every bar.",
    "positive_prices": "open, high, low and close are finite and > 0.",
    "non_negative_volume": "volume is finite and >= 0.",
    "session_completeness": "Every minute of the exchange session is present, and no other "
    "(warning).",
    "plausibility": "Prices and volumes under their ceilings, no aggregate overflow, prices within "
    "the band around the symbol's recent closes (docs/reliability.md).",
    "ohlc_repaired": "No bar needed its high/low widened to cover open and close under its "
    "source's OHLC repair policy (warning; the repaired bars are listed).",
    "session_has_bars": "Every session's vendor answer holds bars; an empty one is fetched again "
    "by the next pull (warning).",
    "rsi_range": "RSI 14 lies in [0, 100] wherever it is defined.",
    "known_signals": "Every signal is one of the documented signal names.",
    "var_ordering": "VaR 99 >= VaR 95 >= 0 and CVaR >= VaR (historical and parametric).",
    "var_backtest_95": "Kupiec POF and Christoffersen tests of the historical VaR 95 over the "
    "symbol's last 250 forecasts do not reject the model at 5% (warning).",
    "var_backtest_99": "Kupiec POF and Christoffersen tests of the historical VaR 99 over the "
    "symbol's last 250 forecasts do not reject the model at 5% (warning).",
    "return_outlier": "No daily return with a robust (median/MAD) z-score above 5 (warning).",
    "volume_spike": "No volume above 5x its 60-session median (warning).",
    "stale_price": "No 3 or more unchanged closes in a row (warning).",
    "calendar_gap": "No exchange session missing from the daily bars (warning).",
    "correlation_range": "Every correlation lies in [-1, 1].",
    "rows_match_lake": "The warehouse holds exactly the lake's rows for the loaded range.",
    "payload_present": "Every session partition has a raw payload.",
    "one_current_version": "Each universe symbol has one current version; versions do not overlap.",
    "matches_source": "The compacted copy holds exactly the source dataset's rows.",
    "covers_every_symbol": "The report has a section for every universe symbol (warning).",
    "bars_current": "Every row was computed from the warehouse's current daily bars of its "
    "look-back (warning): a row whose bars changed since is stale until recomputed "
    "(fin-assets refresh-stale).",
}


def check_specs(
    asset: str, blocking: Sequence[str] = (), warning: Sequence[str] = ()
) -> list[AssetCheckSpec]:
    """Specs of an asset's checks, with their descriptions: blocking ones stop downstream assets
    when they fail."""
    return [
        AssetCheckSpec(
            name,
            asset=AssetKey(asset),
            blocking=name in blocking,
            description=CHECK_DESCRIPTIONS[name],
        )
        for name in [*blocking, *warning]
    ]


def check_result(
    name: str,
    result: RuleResult,
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
    asset: str | None = None,
) -> AssetCheckResult:
    """The result of check `name` over a run from a quality rule's result, with its evidence
    (and, when the failures can be placed, the partitions holding them) as metadata."""
    metadata = {
        "checked_rows": MetadataValue.int(result.checked_rows),
        "failed_rows": MetadataValue.int(result.failed_rows),
        "detail": MetadataValue.text(result.detail),
    }
    if not result.sample.empty:
        metadata["sample"] = MetadataValue.md(result.sample.head(20).to_markdown(index=False))
    if result.failed_partitions is not None:
        metadata[FAILED_PARTITIONS] = MetadataValue.json(
            [
                [symbol, None if day is None else str(day), rows]
                for (symbol, day), rows in result.failed_partitions.items()
            ]
        )
    return AssetCheckResult(
        check_name=name,
        asset_key=asset,
        passed=result.passed,
        severity=severity,
        metadata=metadata,
    )


def with_run_checks(
    context: AssetExecutionContext, *results: MaterializeResult | AssetCheckResult
) -> Iterator[MaterializeResult | AssetCheckResult | AssetCheckEvaluation | Output]:
    """The run's materializations, then one evaluation per check for the whole asset.

    `results` are what the asset would return: MaterializeResults (their check_results are taken
    out) and AssetCheckResults over the run's range. An unpartitioned asset's pass through.
    A check's output is yielded when it is this op's (a graph-backed asset's op emits its own).
    """
    checks: list[AssetCheckResult] = []
    for result in results:
        if isinstance(result, MaterializeResult):
            checks.extend(result.check_results or [])
            yield replace(result, check_results=[])
        else:
            checks.append(result)
    if not context.has_partition_key and not context.has_partition_key_range:
        yield from checks
        return
    covered = _covered(context.partition_keys)
    specs = {spec.key: spec for spec in context.assets_def.check_specs}
    op_outputs = {output.name for output in context.op_def.output_defs}
    # An asset's op names a check's output after the check spec; a graph-backed asset's op
    # after the check.
    outputs = {
        spec.key: name if name in op_outputs else spec.name
        for name, spec in context.assets_def.check_specs_by_output_name.items()
        if name in op_outputs or spec.name in op_outputs
    }
    # The run's latest materialization of each asset, which its checks' evaluations describe.
    targets: dict[AssetKey, AssetCheckEvaluationTargetMaterializationData | None] = {}
    for result in checks:
        key = AssetCheckKey(result.asset_key or context.assets_def.key, str(result.check_name))
        if key in outputs:
            yield Output(None, output_name=outputs[key])
        if key.asset_key not in targets:
            targets[key.asset_key] = _target(context, key.asset_key)
        target = targets[key.asset_key]
        if key.name in WHOLE_ASSET_CHECKS:
            yield whole_asset_evaluation(result, key, context.run.run_id, target)
        else:
            yield _evaluation(context, result, specs[key], covered, target)


def whole_asset_evaluation(
    result: AssetCheckResult,
    key: AssetCheckKey,
    run_id: str,
    target: AssetCheckEvaluationTargetMaterializationData | None = None,
) -> AssetCheckEvaluation:
    """The evaluation of a WHOLE_ASSET_CHECKS check: `result` (over the whole asset, its failures
    placed) as is, never blocking, its failures as `failing_partitions` entries, one per symbol
    [symbol, first date, last date, rows, run id]; `target`: the materialization it describes."""
    metadata = dict(result.metadata)
    placed = metadata.pop(FAILED_PARTITIONS, None)
    spans: dict[str | None, list] = {}
    for symbol, day, rows in placed.value if placed is not None else []:
        span = spans.setdefault(symbol, [symbol, day, day, 0, run_id])
        span[1], span[2], span[3] = min(span[1], day), max(span[2], day), span[3] + int(rows)
    metadata[FAILING] = MetadataValue.json(list(spans.values()))
    detail = metadata.get("detail")
    return AssetCheckEvaluation(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=result.passed,
        metadata=metadata,
        target_materialization_data=target,
        severity=result.severity,
        description=detail.value if detail is not None else None,
        blocking=False,
        partition=None,
    )


def latest_materialization(
    instance: DagsterInstance, asset_key: AssetKey
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The asset's latest materialization, as the target of a check evaluation."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset_key), limit=1
    ).records
    if not records:
        return None
    record = records[0]
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )


def _covered(keys: Sequence[str]) -> dict[str, Any]:
    """The run's rectangle: its symbols (null for date partitions) and first and last date."""
    values = partition_values()
    days: list[date] = []
    symbols: set[str] = set()
    for key in keys:
        if isinstance(key, MultiPartitionKey):
            days.append(date.fromisoformat(key.keys_by_dimension["date"]))
            symbols.update(values.members_of(key.keys_by_dimension[values.member_dimension]))
        else:
            days.append(date.fromisoformat(key))
    return {
        "symbols": sorted(symbols) if symbols else None,
        "start": min(days).isoformat(),
        "end": max(days).isoformat(),
    }


def _own_failures(result: AssetCheckResult, covered: Mapping[str, Any], run_id: str) -> list:
    """The run's failing entries [symbol, first, last, rows, run id] from its result."""
    if result.passed:
        return []
    start, end = covered["start"], covered["end"]
    placed = result.metadata.get(FAILED_PARTITIONS)
    if placed is None:  # the range as a whole failed
        reported = result.metadata.get("failed_rows")
        rows = int(reported.value) if reported is not None else 0
        symbols = covered["symbols"] or [None]
        return [[symbol, start, end, rows, run_id] for symbol in symbols]
    return [
        [symbol, day or start, day or end, int(rows), run_id] for symbol, day, rows in placed.value
    ]


def uncovered_parts(entry: list, covered: Mapping[str, Any]) -> list[list]:
    """The parts of a failing entry outside the run's rectangle (the run rewrote the rest)."""
    symbol, first, last, rows, run_id = entry
    symbols = covered["symbols"]
    if symbols is not None and symbol not in symbols:
        return [entry]
    start, end = covered["start"], covered["end"]
    if last < start or first > end:
        return [entry]
    parts = []
    if first < start:
        parts.append([symbol, first, _day_before(start), rows, run_id])
    if last > end:
        parts.append([symbol, _day_after(end), last, rows, run_id])
    return parts


def _day_before(day: str) -> str:
    return date.fromordinal(date.fromisoformat(day).toordinal() - 1).isoformat()


def _day_after(day: str) -> str:
    return date.fromordinal(date.fromisoformat(day).toordinal() + 1).isoformat()


def _still_failing(context: AssetExecutionContext, key: AssetCheckKey) -> list[list]:
    """The failing entries the check's previous evaluations leave standing, oldest first."""
    history = context.instance.event_log_storage.get_asset_check_execution_history(
        key, limit=HISTORY
    )
    standing: list[list] = []
    for record in reversed(history):  # oldest first
        evaluation = record.evaluation
        if not isinstance(evaluation, AssetCheckEvaluation) or COVERED not in evaluation.metadata:
            continue
        covered = evaluation.metadata[COVERED].value
        standing = [part for entry in standing for part in uncovered_parts(entry, covered)]
        for entry in evaluation.metadata[FAILING].value:
            if entry not in standing:
                standing.append(entry)
    return standing


def _target(
    context: AssetExecutionContext, asset_key: AssetKey
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The run's latest materialization of `asset_key` (the asset's latest)."""
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset_key), limit=1
    ).records
    if not records or records[0].run_id != context.run.run_id:
        return None
    record = records[0]
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )


def _evaluation(
    context: AssetExecutionContext,
    result: AssetCheckResult,
    spec: AssetCheckSpec,
    covered: Mapping[str, Any],
    target: AssetCheckEvaluationTargetMaterializationData | None,
) -> AssetCheckEvaluation:
    """The check's evaluation for the whole asset after this run, describing `target`."""
    own = _own_failures(result, covered, context.run.run_id)
    earlier = [
        part
        for entry in _still_failing(context, spec.key)
        for part in uncovered_parts(entry, covered)
    ]
    failing = earlier + own
    run_range = f"{covered['start']}..{covered['end']}"
    if covered["symbols"]:
        run_range += f" × {', '.join(covered['symbols'])}"
    detail = result.metadata.get("detail")
    found = "passed" if result.passed else "failed" + (f" ({detail.value})" if detail else "")
    description = f"This run ({run_range}): {found}."
    if earlier:
        description += f" Still failing from earlier runs: {_describe(earlier)}."
    metadata = {
        **result.metadata,
        "run_range": MetadataValue.text(run_range),
        FAILING: MetadataValue.json(failing),
        COVERED: MetadataValue.json(dict(covered)),
    }
    metadata.pop(FAILED_PARTITIONS, None)
    return AssetCheckEvaluation(
        asset_key=spec.asset_key,
        check_name=spec.name,
        passed=not failing,
        metadata=metadata,
        target_materialization_data=target,
        severity=result.severity,
        description=description,
        # Only the run's own failures stop it; earlier ones are already reported.
        blocking=spec.blocking and not result.passed,
        partition=None,
    )


def _describe(entries: list[list]) -> str:
    """Failing entries in words, e.g. "MSFT 2025-01-06 (3 rows)"."""
    words = []
    for symbol, first, last, rows, _ in entries[:10]:
        days = first if first == last else f"{first}..{last}"
        words.append(f"{symbol + ' ' if symbol else ''}{days} ({rows} rows)")
    more = len(entries) - 10
    return ", ".join(words) + (f" and {more} more" if more > 0 else "")
