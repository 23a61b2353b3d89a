"""The exporter, Prometheus and Alertmanager for real, after real runs on a real instance.

A small backfill (the reference dimensions, BTC over 2025-01-01..08) succeeds, then a landing
file of BTC's 2025-01-09 goes through `fin-assets ingest-landing`'s path; the exporter's
/metrics must match values computed from the stores themselves. Then a run fed real vendor
bars with one absurd bar (test_bad_input's replay) fails on a blocking check (intraday_bars
plausibility): Prometheus, scraping the exporter with deploy/'s rules, must fire
FinAssetsPipelineFailed and FinAssetsDataQualityViolation, and Alertmanager, with deploy/'s
routing, must POST them to the webhook receiver. In between, every panel query of the Grafana
dashboards (deploy/grafana/) must run in that Prometheus over the real scrape.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest
import requests
from dagster import DagsterRunStatus
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from fin_assets.definitions import build_definitions
from fin_assets.defs.ingest.landing import process_landing_files
from fin_assets.instance import open_instance
from fin_assets.resources.environments import lake_resource
from fin_assets.runner import QUIET_RUN_CONFIG, RunRequest, check_outcomes
from fin_assets.settings import Settings
from fin_assets.testing.landing_files import csv_bytes, minute_bars
from fin_assets.testing.ports import free_port
from fin_assets.universe import load_universe
from fin_assets_tests.defs.test_bad_input import REAL_BARS_FILE, ReplayedVendorBars
from fin_assets_tests.operations.monitoring import (
    DEPLOY,
    alertmanager,
    exporter,
    firing_alerts,
    prometheus,
    query,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("monitoring")]

BACKFILL = [
    RunRequest("reference_job"),
    RunRequest("symbol_history_job", "2025-01-01|BTC", "2025-01-08|BTC"),
]
EMPTY_PANELS = [
    "Failing checks by severity",
    "Failed rows by check",
    "Remaining calls per quota",
    "Quota used",
    "Calls, throttles and retries per hour",
    "Oldest in-progress run",
    "Consumer lag",
    "Commit throughput",
    "Dead letters per hour",
    "Landed event time age per symbol",
    "Age of the stream status",
]
BTC_DAYS = 8
LANDING_KEY = "landing/BTC/2025-01-09/drop.csv"
MINUTES_PER_DAY = 1440


@dataclass
class Stack:
    settings: Settings
    metrics_url: str
    prometheus_url: str
    webhook: HTTPServer


def run(settings: Settings, request: RunRequest, resources: dict | None = None) -> bool:
    defs = build_definitions(settings, resources)
    result = defs.resolve_job_def(request.job_name).execute_in_process(
        instance=open_instance(settings),
        tags=request.tags,
        run_config=QUIET_RUN_CONFIG,
        raise_on_error=False,
    )
    return result.success


@pytest.fixture(scope="module")
def stack(
    module_fin_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    settings = module_fin_settings
    for request in BACKFILL:
        assert run(settings, request), request
    # A whole day of minutes (a partial one would fail the WARN completeness check).
    lake = lake_resource(settings).get_lake()
    btc = next(symbol for symbol in load_universe() if symbol.symbol == "BTC")
    bars = minute_bars(btc.calendar, date(2025, 1, 9), 0, MINUTES_PER_DAY, 95_000.0)
    lake.replace_object(LANDING_KEY, csv_bytes(bars))
    [outcome] = process_landing_files(
        lake, open_instance(settings), build_definitions(settings), run_config=QUIET_RUN_CONFIG
    )
    assert outcome.status == "succeeded", outcome
    workdir = tmp_path_factory.mktemp("monitoring")
    webhook = HTTPServer(host="127.0.0.1", port=free_port())
    webhook.expect_request("/alerts", method="POST").respond_with_data("ok")
    webhook.start()
    try:
        # The lake and warehouse are read once (the first scrape): the failing run below must
        # not meet the exporter's reader on the DuckDB file.
        with (
            exporter(settings, workdir, lake_interval=3600) as metrics_url,
            alertmanager(workdir, webhook.url_for("/alerts")) as alertmanager_url,
            prometheus(workdir, metrics_url, alertmanager_url) as prometheus_url,
        ):
            yield Stack(settings, metrics_url, prometheus_url, webhook)
    finally:
        webhook.stop()


def dashboard_panels() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of every dashboard under deploy/grafana/."""
    return [
        (panel["title"], target["expr"])
        for path in sorted((DEPLOY / "grafana").glob("*.json"))
        for panel in json.loads(path.read_text())["panels"]
        for target in panel["targets"]
    ]


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(url, timeout=60).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_scrape_matches_the_stores(stack: Stack) -> None:
    found = scrape(stack.metrics_url)
    instance = open_instance(stack.settings)
    for job in ("reference_job", "symbol_history_job", "landing_job"):
        [record] = [r for r in instance.get_run_records() if r.dagster_run.job_name == job]
        assert record.dagster_run.status == DagsterRunStatus.SUCCESS
        labels = (("dagster_job", job), ("status", "SUCCESS"))
        assert found[("fin_assets_runs", labels)] == 1
        assert found[("fin_assets_job_last_run_failed", (("dagster_job", job),))] == 0
        seconds = found[("fin_assets_job_last_run_duration_seconds", (("dagster_job", job),))]
        assert seconds == pytest.approx(record.end_time - record.start_time)
    with duckdb.connect(str(stack.settings.warehouse_path), read_only=True) as con:
        for table in ("fact_daily_bar", "fact_intraday_bar", "dim_symbol"):
            [(rows,)] = con.execute(f"SELECT count(*) FROM {table}").fetchall()
            assert found[("fin_assets_warehouse_rows", (("table", table),))] == rows
    # BTC trades every day: 8 + 1 (landed) daily bars and 9 × 1,440 minutes.
    assert found[("fin_assets_warehouse_rows", (("table", "fact_daily_bar"),))] == BTC_DAYS + 1
    intraday = found[("fin_assets_warehouse_rows", (("table", "fact_intraday_bar"),))]
    assert intraday == (BTC_DAYS + 1) * MINUTES_PER_DAY
    lake = Path(stack.settings.lake_root)
    for dataset in ("daily_bars", "intraday_bars", "raw"):
        files = [p for p in (lake / dataset).rglob("*") if p.is_file()]
        assert found[("fin_assets_lake_files", (("dataset", dataset),))] == len(files)
        assert found[("fin_assets_lake_bytes", (("dataset", dataset),))] == sum(
            p.stat().st_size for p in files
        )
    assert found[("fin_assets_lake_files", (("dataset", "daily_bars"),))] == BTC_DAYS + 1
    assert found[("fin_assets_vendor_payloads", (("vendor", "synthetic"),))] == BTC_DAYS
    assert found[("fin_assets_vendor_payloads", (("vendor", "landing"),))] == 1
    history = next(
        r for r in instance.get_run_records() if r.dagster_run.job_name == "symbol_history_job"
    )
    checks = check_outcomes(instance, history.dagster_run.run_id)
    assert checks
    for check in checks:
        severity = "ERROR" if check.blocking_severity else "WARN"
        labels = (("asset", check.asset), ("check", check.check), ("severity", severity))
        assert found[("fin_assets_check_passed", labels)] == (1 if check.passed else 0)
    # Quality rates: every bar and session minute of the runs checked, none repaired.
    for check in ("ohlc_repaired", "session_completeness"):
        labels = (("asset", "intraday_bars"), ("check", check), ("severity", "WARN"))
        assert found[("fin_assets_check_rows_checked_total", labels)] >= intraday
        assert found[("fin_assets_check_rows_failed_total", labels)] == 0
    states = {"ingested": 1, "quarantined": 0, "waiting": 0}
    for state, count in states.items():
        assert found[("fin_assets_landing_files", (("state", state),))] == count
    [landing_run] = [
        r for r in instance.get_run_records() if r.dagster_run.job_name == "landing_job"
    ]
    landed_at = (lake / LANDING_KEY).stat().st_mtime
    assert found[("fin_assets_landing_to_warehouse_seconds_count", ())] == 1
    assert found[("fin_assets_landing_to_warehouse_seconds_sum", ())] == pytest.approx(
        landing_run.end_time - landed_at
    )
    for source in ("instance", "warehouse", "lake", "vendors", "cost"):
        assert found[("fin_assets_source_up", (("source", source),))] == 1


def wait_for_scrapes(stack: Stack, scrapes: int) -> None:
    """Until Prometheus has scraped the exporter successfully `scrapes` times."""
    promql = f'sum_over_time(up{{job="fin_assets"}}[1h]) >= {scrapes}'
    wait_for(lambda: query(stack.prometheus_url, promql)["result"], 90, f"{scrapes} scrapes")


def test_every_dashboard_query_runs_in_prometheus_over_a_real_scrape(stack: Stack) -> None:
    # Two scrapes: the panels of changes over time (delta) need two samples.
    wait_for_scrapes(stack, 2)
    text = requests.get(stack.metrics_url, timeout=60).text
    families = list(text_string_to_metric_families(text))
    exported = {sample.name for family in families for sample in family.samples}
    exported |= {family.name for family in families}
    exported |= {f"{family.name}_total" for family in families if family.type == "counter"}
    panels = dashboard_panels()
    assert {title for title, _ in panels} >= {"Runs by job and status", "Asset lag"}
    empty = []
    for title, expr in panels:
        names = set(re.findall(r"\bfin_assets_\w+", expr))
        assert names <= exported, f"{title}: {expr} names metrics the exporter lacks"
        if not query(stack.prometheus_url, expr)["result"]:
            empty.append(title)
    # Empty over this FIN_HOME, and only these: no check failed, the synthetic market source
    # has no vendor limiter, no run is in progress, the stream status was never read.
    assert sorted(empty) == sorted(EMPTY_PANELS), empty


def test_a_failed_run_and_check_fire_alerts_that_reach_the_webhook(stack: Stack) -> None:
    wait_for_scrapes(stack, 1)
    assert firing_alerts(stack.prometheus_url) == []
    bad_bars = {"market_data": ReplayedVendorBars(path=str(REAL_BARS_FILE), absurd_at=7)}
    assert not run(
        stack.settings,
        RunRequest("symbol_history_job", "2025-10-12|ETH", "2025-10-12|ETH"),
        bad_bars,
    )

    def fired() -> dict[str, dict] | None:
        alerts = {
            a["labels"]["alertname"]: a["labels"] for a in firing_alerts(stack.prometheus_url)
        }
        wanted = {"FinAssetsPipelineFailed", "FinAssetsDataQualityViolation"}
        return alerts if wanted <= alerts.keys() else None

    alerts = wait_for(fired, 120, "the alerts to fire in Prometheus")
    assert alerts["FinAssetsPipelineFailed"]["dagster_job"] == "symbol_history_job"
    assert alerts["FinAssetsPipelineFailed"]["severity"] == "critical"
    quality = [
        a["labels"]
        for a in firing_alerts(stack.prometheus_url)
        if a["labels"]["alertname"] == "FinAssetsDataQualityViolation"
    ]
    assert {("intraday_bars", "plausibility")} <= {(q["asset"], q["check"]) for q in quality}

    def delivered() -> set[str] | None:
        names = {
            alert["labels"]["alertname"]
            for request, _ in stack.webhook.log
            for alert in request.get_json()["alerts"]
            if alert["status"] == "firing"
        }
        wanted = {"FinAssetsPipelineFailed", "FinAssetsDataQualityViolation"}
        return names if wanted <= names else None

    wait_for(delivered, 120, "Alertmanager to POST the alerts to the webhook")
