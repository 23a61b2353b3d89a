"""FIN_WAREHOUSE=snowflake: the real graph, run as the CLI runs it (separate processes), loads
the star schema over HTTP into fakesnow through SnowflakeResource; then the market report. A
failing run publishes nothing of what it staged in Snowflake."""

import dataclasses
from datetime import date
from typing import Any

import numpy as np
import pytest
from dagster import AssetKey
from rich.progress import Progress

from fin_assets.analytics.schemas import DAILY_BARS, INTRADAY_BARS
from fin_assets.defs import risk as risk_defs
from fin_assets.defs.risk import compute_risk_metrics
from fin_assets.instance import open_instance
from fin_assets.resources.environments import warehouse_resource
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.storage import opened_warehouse
from fin_assets.resources.warehouse_snowflake import SnowflakeWarehouse
from fin_assets.runner import RunRequest, plan_runs, run_stages
from fin_assets.settings import Settings
from fin_assets.universe import load_universe
from fin_assets_tests.defs.test_write_audit_publish import (
    assert_unchanged,
    lake_hashes,
    launch,
    run_history,
    warehouse_rows,
    with_inverted_var,
)

START, END = date(2025, 1, 1), date(2025, 1, 10)
pytestmark = pytest.mark.slow


@pytest.fixture
def snowflake_env(monkeypatch: pytest.MonkeyPatch, fakesnow_server: dict[str, Any]) -> None:
    for name, value in {
        "SNOWFLAKE_ACCOUNT": fakesnow_server["account"],
        "SNOWFLAKE_USER": fakesnow_server["user"],
        "SNOWFLAKE_PASSWORD": fakesnow_server["password"],
        "SNOWFLAKE_DATABASE": "FIN_GRAPH",
        "SNOWFLAKE_SCHEMA": "MARTS",
        "SNOWFLAKE_HOST": fakesnow_server["host"],
        "SNOWFLAKE_PORT": str(fakesnow_server["port"]),
        "SNOWFLAKE_PROTOCOL": fakesnow_server["protocol"],
    }.items():
        monkeypatch.setenv(name, value)


def test_the_graph_loads_snowflake_and_reports(fin_settings: Settings, snowflake_env) -> None:
    settings = dataclasses.replace(fin_settings, warehouse="snowflake")
    symbols = [s.symbol for s in load_universe()]
    stages = [*plan_runs(START, END, symbols, 2), [RunRequest("report_job")]]

    with Progress(disable=True) as progress:
        outcomes = run_stages(settings, stages, progress).runs

    assert [o.success for o in outcomes] == [True] * 5
    with opened_warehouse(warehouse_resource(settings)) as warehouse:
        assert isinstance(warehouse, SnowflakeWarehouse)
        counts = warehouse.row_counts()
        btc = warehouse.query(
            "SELECT close FROM fact_daily_bar WHERE symbol = 'BTC' ORDER BY trade_date"
        )
        aapl = warehouse.query("SELECT count(*) AS n FROM fact_daily_bar WHERE symbol = 'AAPL'")
    lake = ParquetLake(settings.lake_root)
    days = (END - START).days + 1
    dates = [date(2025, 1, d) for d in range(1, days + 1)]
    lake_daily = sum(
        lake.read_partitions("daily_bars", DAILY_BARS, dates, symbol=s).num_rows for s in symbols
    )
    lake_minutes = sum(
        lake.read_partitions("intraday_bars", INTRADAY_BARS, dates, symbol=s).num_rows
        for s in symbols
    )
    assert counts["fact_daily_bar"] == lake_daily
    assert counts["fact_intraday_bar"] == lake_minutes
    assert counts["dim_symbol"] == len(symbols)
    stored = lake.read_partitions("daily_bars", DAILY_BARS, dates, symbol="BTC")
    np.testing.assert_array_equal(btc["close"].to_numpy(), stored["close"].to_numpy())
    # XNYS sessions of 2025-01-01..10: Jan 2, 3, 6, 7, 8, 10 (Jan 9 closed: day of mourning).
    assert aapl["n"].tolist() == [6]

    report = open_instance(settings).get_latest_materialization_event(AssetKey("market_report"))
    path = report.asset_materialization.metadata["path"].value
    assert path.startswith(f"{settings.lake_root}/reports/market_report/2025-01-10-")
    with open(path) as page:
        assert "BTC: close, Bollinger" in page.read()


def test_a_run_failing_after_its_facts_were_staged_leaves_snowflake_as_it_was(
    fin_settings: Settings, snowflake_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16 item 5(b) on Snowflake: a history loaded, then a run of other bars whose
    risk_metrics check fails after its bar facts were staged: every table as before."""
    monkeypatch.setenv("SNOWFLAKE_DATABASE", "FIN_WAP")
    monkeypatch.setenv("FIN_WAREHOUSE", "snowflake")
    settings = dataclasses.replace(fin_settings, warehouse="snowflake")
    assert run_history(settings).success
    lake, warehouse = lake_hashes(settings, skip=("raw",)), warehouse_rows(settings)
    assert len(warehouse["fact_daily_bar"]) == 2  # AAPL's sessions of 2025-01-01..03
    monkeypatch.setattr(
        risk_defs,
        "compute_risk_metrics",
        lambda *args, **kwargs: with_inverted_var(compute_risk_metrics(*args, **kwargs)),
    )

    success, failed = launch(settings, monkeypatch)

    assert not success
    assert "var_ordering" in failed
    assert_unchanged(settings, lake, warehouse, skip=("raw",))
