"""Quality rates: every check's evaluations summed over the runs, read incrementally from a real
instance (CheckTotals), and the counters the exporter serves from them."""

import re

import pandas as pd
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    Config,
    DagsterInstance,
    MaterializeResult,
    asset,
    materialize,
)

from fin_assets.analytics.quality import RuleResult
from fin_assets.defs.checks import check_result, check_specs
from fin_assets.operations.metrics import CheckTotal, check_total_metrics
from fin_assets.operations.sources import CheckTotals
from fin_assets_tests.operations.samples import samples
from fin_assets_tests.operations.statements import statements_over


class BarsConfig(Config):
    bars: int
    repaired: int


@asset(check_specs=check_specs("bars", blocking=[], warning=["ohlc_repaired"]))
def bars(config: BarsConfig) -> MaterializeResult:
    """Stands for intraday_bars: `repaired` of `bars` bars needed an OHLC repair."""
    result = RuleResult(
        rule="ohlc_repaired",
        passed=config.repaired == 0,
        failed_rows=config.repaired,
        checked_rows=config.bars,
        sample=pd.DataFrame(),
        detail=f"{config.repaired} of {config.bars} bars repaired",
    )
    return MaterializeResult(
        check_results=[check_result("ohlc_repaired", result, AssetCheckSeverity.WARN)]
    )


def run(instance: DagsterInstance, bars_count: int, repaired: int) -> None:
    config = {"ops": {"bars": {"config": {"bars": bars_count, "repaired": repaired}}}}
    assert materialize([bars], instance=instance, run_config=config).success


KEY = AssetCheckKey(AssetKey("bars"), "ohlc_repaired")


def test_each_runs_evaluation_is_summed_once_and_only_new_rows_are_read() -> None:
    instance = DagsterInstance.ephemeral()
    totals = CheckTotals(instance, [KEY], page_size=2)
    assert totals() == []
    for bars_count, repaired in [(390, 0), (390, 3), (1440, 7)]:
        run(instance, bars_count, repaired)
    expected = CheckTotal("bars", "ohlc_repaired", "WARN", 3, 390 + 390 + 1440, 10)
    assert totals() == [expected]
    assert totals() == [expected]  # nothing new: nothing added
    cursor = totals.cursor
    run(instance, 100, 1)
    assert totals() == [CheckTotal("bars", "ohlc_repaired", "WARN", 4, 2320, 11)]
    assert totals.cursor > cursor
    # A new exporter over the same instance reads the whole history to the same totals.
    assert CheckTotals(instance, [KEY])() == totals()


def test_counters_give_the_quality_rate() -> None:
    found = samples(check_total_metrics([CheckTotal("bars", "ohlc_repaired", "WARN", 4, 2320, 11)]))
    labels = (("asset", "bars"), ("check", "ohlc_repaired"), ("severity", "WARN"))
    assert found[("fin_assets_check_evaluations_total", labels)] == 4
    assert found[("fin_assets_check_rows_checked_total", labels)] == 2320
    assert found[("fin_assets_check_rows_failed_total", labels)] == 11


def test_the_first_read_sums_the_history_in_the_database() -> None:
    """A new exporter's first scrape: one row per check comes back, no evaluation event is
    read (and deserialized) row by row."""
    instance = DagsterInstance.ephemeral()
    for bars_count, repaired in [(390, 0), (390, 3), (1440, 7)]:
        run(instance, bars_count, repaired)
    with statements_over("asset_check_executions") as executed:
        totals = CheckTotals(instance, [KEY])()
    assert totals == [CheckTotal("bars", "ohlc_repaired", "WARN", 3, 390 + 390 + 1440, 10)]
    assert executed
    raw_event = re.compile(r"(SELECT|,)\s*asset_check_executions\.evaluation_event\s*(,|FROM)")
    assert [s for s in executed if raw_event.search(s)] == []
