"""Declarative automation of the real Definitions, evaluated tick by tick on an instance.

Every partition of every asset is recorded as materialized up to NOW's last complete date,
then one past raw_quotes partition changes (a late landing file for AAPL on 2025-01-06) and the
conditions are evaluated as the automation sensor would, materializing each tick's requests
before the next tick.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    EvaluateAutomationConditionsResult,
    evaluate_automation_conditions,
)
from dagster._core.events import StepMaterializationData
from dagster._core.utils import make_new_run_id

from fin_assets.definitions import defs
from fin_assets.defs.common.automation import LOOKBACKS, follow_lookback, follow_upstream
from fin_assets.defs.common.jobs import job_assets
from fin_assets.defs.common.partitions import graph_partitions

SYMBOL_HISTORY_ASSETS = job_assets(defs(), "symbol_history_job")
PORTFOLIO_ASSETS = job_assets(defs(), "portfolio_job")
REFERENCE_ASSETS = job_assets(defs(), "reference_job")
NOW = datetime(2025, 1, 9, 6, 0, tzinfo=UTC)
LAST_DATE = date(2025, 1, 8)
CHANGED = date(2025, 1, 6)


def days(start: date, end: date) -> list[str]:
    return [(start + timedelta(n)).isoformat() for n in range((end - start).days + 1)]


def keys(dates: Iterable[str], symbol: str | None = None) -> set[str]:
    return {f"{d}|{symbol}" if symbol else d for d in dates}


def materialize(instance: DagsterInstance, partitions: dict[str, set[str]]) -> None:
    for asset, partition_keys in partitions.items():
        for key in partition_keys:
            instance.report_runless_asset_event(AssetMaterialization(asset, partition=key))


def requested(result: EvaluateAutomationConditionsResult) -> dict[str, set[str]]:
    names = {r.key.to_user_string() for r in result.results if r.true_subset.size}
    return {
        name: {str(k) for k in result.get_requested_partitions(AssetKey(name))} for name in names
    }


def every_partition() -> dict[str, set[str]]:
    """Every partition of every partitioned asset up to LAST_DATE."""
    every_day = days(date(2025, 1, 1), LAST_DATE)
    partitions = graph_partitions()
    assert (
        partitions.date_partitions.get_partition_keys(current_time=NOW)[-1] == LAST_DATE.isoformat()
    )
    everything = {}
    for key, assets_def in defs().get_repository_def().assets_defs_by_key.items():
        if assets_def.partitions_def == partitions.date_symbol_partitions:
            everything[key.to_user_string()] = set().union(
                *(keys(every_day, s) for s in partitions.values.symbols)
            )
        elif assets_def.partitions_def == partitions.date_partitions:
            everything[key.to_user_string()] = keys(every_day)
    return everything


@pytest.fixture(scope="module")
def ticks() -> list[dict[str, set[str]]]:
    """The requests of five ticks: before and after the change of AAPL's 2025-01-06 quotes."""
    instance = DagsterInstance.ephemeral()
    materialize(instance, every_partition())
    result = evaluate_automation_conditions(defs(), instance, evaluation_time=NOW)
    history = [requested(result)]
    materialize(instance, {"raw_quotes": {f"{CHANGED}|AAPL"}})
    for _ in range(4):
        result = evaluate_automation_conditions(
            defs(), instance, evaluation_time=NOW, cursor=result.cursor
        )
        history.append(requested(result))
        materialize(instance, history[-1])
    return history


def test_nothing_is_requested_while_nothing_changes(ticks) -> None:
    assert ticks[0] == {}
    assert ticks[3] == {}
    assert ticks[4] == {}


def test_the_changed_day_flows_through_its_symbol_graph_in_one_tick(ticks) -> None:
    """Same-date dependencies: the changed day's bars, analytics, risk and facts are one run."""
    day = keys([CHANGED.isoformat()], "AAPL")
    assert ticks[1] == {name: day for name in SYMBOL_HISTORY_ASSETS if name != "raw_quotes"}


def test_look_back_dependents_of_the_changed_day_follow_for_that_symbol_only(ticks) -> None:
    """Indicators, anomalies and risk of every later date up to the newest partition read the
    changed daily bars in their look-back (signals read the indicators of the previous session):
    they follow on the next tick, with their facts; the portfolio only on the same date."""
    later = keys(days(CHANGED + timedelta(1), LAST_DATE), "AAPL")
    same_date = {CHANGED.isoformat()}
    assert ticks[2] == {
        "technical_indicators": later,
        "anomalies": later,
        "risk_metrics": later,
        "trading_signals": later,
        "fact_indicator": later,
        "fact_risk": later,
        "fact_signal": later,
        "portfolio_risk": same_date,
        "correlation_matrix": same_date,
        "fact_portfolio_risk": same_date,
        "fact_correlation": same_date,
    }


def test_every_derived_asset_of_the_graph_follows_upstream_and_roots_do_not() -> None:
    specs = {
        key.to_user_string(): spec
        for assets_def in defs().get_repository_def().assets_defs_by_key.values()
        for key, spec in assets_def.specs_by_key.items()
    }
    for name in (*SYMBOL_HISTORY_ASSETS, *PORTFOLIO_ASSETS, *REFERENCE_ASSETS):
        if name in LOOKBACKS:
            expected = follow_lookback(*LOOKBACKS[name])
        else:
            expected = follow_upstream() if specs[name].deps else None
        assert specs[name].automation_condition == expected, name
    assert [n for n in SYMBOL_HISTORY_ASSETS if not specs[n].deps] == ["raw_quotes"]


def test_a_date_whose_look_back_history_is_missing_waits_instead_of_failing() -> None:
    """A day's bars without the history before them (a daily pull on a home whose earlier dates
    never ran): the look-back assets are not requested, which would fail reading the history."""
    instance = DagsterInstance.ephemeral()
    result = evaluate_automation_conditions(defs(), instance, evaluation_time=NOW)
    day = keys([LAST_DATE.isoformat()], "AAPL")
    materialize(instance, {"raw_quotes": day, "intraday_bars": day, "daily_bars": day})
    result = evaluate_automation_conditions(
        defs(), instance, evaluation_time=NOW, cursor=result.cursor
    )
    assert requested(result)["fact_daily_bar"] == day
    assert not {"technical_indicators", "anomalies", "risk_metrics"} & requested(result).keys()


def test_dependents_wait_until_the_run_that_changed_their_inputs_is_over() -> None:
    """A run's writes are published when it succeeds (write-audit-publish), but Dagster records
    each step's materialization when the step ends. While the landing run that changed AAPL's
    day is still going (its steps done, its writes staged), nothing outside it is requested —
    a look-back dependent or the portfolio would read the values from before the run, then
    count as handled. Once the run is over, they follow."""
    instance = DagsterInstance.ephemeral()
    materialize(instance, every_partition())
    result = evaluate_automation_conditions(defs(), instance, evaluation_time=NOW)
    run = DagsterRun(
        job_name="landing_job", run_id=make_new_run_id(), status=DagsterRunStatus.STARTED
    )
    instance.add_run(run)
    for asset in SYMBOL_HISTORY_ASSETS:
        materialization = AssetMaterialization(asset, partition=f"{CHANGED}|AAPL")
        event = DagsterEvent(
            DagsterEventType.ASSET_MATERIALIZATION.value,
            job_name=run.job_name,
            event_specific_data=StepMaterializationData(materialization),
        )
        instance.report_dagster_event(event, run_id=run.run_id)

    result = evaluate_automation_conditions(
        defs(), instance, evaluation_time=NOW, cursor=result.cursor
    )
    assert requested(result) == {}

    instance.report_dagster_event(
        DagsterEvent(DagsterEventType.RUN_SUCCESS.value, job_name=run.job_name), run_id=run.run_id
    )
    result = evaluate_automation_conditions(
        defs(), instance, evaluation_time=NOW, cursor=result.cursor
    )
    later = keys(days(CHANGED + timedelta(1), LAST_DATE), "AAPL")
    assert requested(result)["risk_metrics"] == later
    assert requested(result)["portfolio_risk"] == {CHANGED.isoformat()}
