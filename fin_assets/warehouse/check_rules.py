"""Check rules of the warehouse tables, as fin_assets.analytics.quality RuleResults computed
from what the warehouse answered (fin_assets.defs turns them into Dagster check results). The
market report's rule is in fin_assets.warehouse.report_rules."""

from __future__ import annotations

import pandas as pd

from fin_assets.analytics.quality import SAMPLE_SIZE, RuleResult
from fin_assets.warehouse.staleness import REFRESH_COMMAND

BARS_CURRENT = "bars_current"
_EMPTY = pd.DataFrame()


def range_key_results(name: str, stored: int, distinct: int, lake_rows: int) -> list[RuleResult]:
    """`rows_match_lake` and `unique_key` of a loaded range: the warehouse holds `stored` rows
    with `distinct` keys for it, the lake `lake_rows`."""
    return [
        RuleResult(
            rule="rows_match_lake",
            passed=stored == lake_rows,
            failed_rows=abs(stored - lake_rows),
            checked_rows=lake_rows,
            sample=_EMPTY,
            detail=f"{name}: {stored} rows in the warehouse for the range, {lake_rows} in the lake",
        ),
        RuleResult(
            rule="unique_key",
            passed=stored == distinct,
            failed_rows=stored - distinct,
            checked_rows=stored,
            sample=_EMPTY,
            detail=f"{name}: {stored} rows, {distinct} distinct keys in the loaded range",
        ),
    ]


def one_current_version_result(versions: pd.DataFrame, universe: list[str]) -> RuleResult:
    """`one_current_version` of dim_symbol: each universe symbol has one current version, no
    other symbol has one, and versions of a symbol do not overlap."""
    current = versions[versions["is_current"]]
    counts = current["symbol"].value_counts()
    wrong = sorted(set(universe) - set(counts[counts == 1].index)) + sorted(
        set(current["symbol"]) - set(universe)
    )
    ordered = versions.sort_values(["symbol", "valid_from", "symbol_key"])
    previous_end = ordered.groupby("symbol")["valid_to"].shift(1)
    overlapping = ordered[previous_end > ordered["valid_from"]]
    failed = sorted(set(wrong) | set(overlapping["symbol"]))
    return RuleResult(
        rule="one_current_version",
        passed=not failed,
        failed_rows=len(failed),
        checked_rows=len(versions),
        sample=versions[versions["symbol"].isin(failed)],
        detail=f"symbols without exactly one current version or with overlapping versions: "
        f"{failed}",
    )


def unique_dates_result(frame: pd.DataFrame) -> RuleResult:
    """`unique_key` of dim_date: no two rows share a date_key."""
    duplicated = frame[frame["date_key"].duplicated(keep=False)]
    return RuleResult(
        rule="unique_key",
        passed=duplicated.empty,
        failed_rows=len(duplicated),
        checked_rows=len(frame),
        sample=duplicated.head(SAMPLE_SIZE),
        detail=f"{len(duplicated)} rows share a date_key",
    )


def bars_current_result(table: str, stale: pd.DataFrame, checked_rows: int) -> RuleResult:
    """`bars_current` over the whole of `table` (`checked_rows` rows): its stale rows per symbol
    and date (`stale`: symbol, trade_date, stale_count, as STALE_PARTITIONS_SQL answers), placed
    on their partitions (symbol None: the portfolio facts)."""
    failed = {
        (None if pd.isna(symbol) else symbol, pd.Timestamp(day).date()): int(count)
        for symbol, day, count in stale.itertuples(index=False)
    }
    total = sum(failed.values())
    if total:
        days = sorted(day for _, day in failed)
        detail = (
            f"{table}: {total} rows ({days[0]}..{days[-1]}) computed from daily bars that "
            f"changed since; recompute them: {REFRESH_COMMAND}"
        )
    else:
        detail = f"{table}: every row computed from the current daily bars"
    return RuleResult(
        rule=BARS_CURRENT,
        passed=not total,
        failed_rows=total,
        checked_rows=checked_rows,
        sample=stale.head(SAMPLE_SIZE),
        detail=detail,
        failed_partitions=failed,
    )
