"""The exporter's metric computation on hand-made observations and real stores (no Dagster)."""

import re
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from pytest_httpserver import HTTPServer

from fin_assets.operations.config import load_config
from fin_assets.operations.metrics import (
    DurationTotals,
    FinAssetsCollector,
    PriceTable,
    RunGroup,
    RunObservation,
    RunSummary,
    Usage,
    estimated_costs,
    landing_metrics,
    run_metrics,
)
from fin_assets.operations.sources import (
    Cached,
    landing_reading,
    quota_states,
    read_limiter_store,
)
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.vendors import alphavantage
from fin_assets.resources.vendors.limiter_store import SqlStateStore, limiter_engine, record_event
from fin_assets.resources.vendors.rate_limit import Quota, RateLimiter, shared_limiter
from fin_assets_tests.operations.samples import samples
from fin_assets_tests.resources.vendors.conftest import FakeClock, fixture_bytes, make_client
from fin_assets_tests.resources.vendors.test_http_client import AV_CSV, AV_PARAMS


def test_runs_by_job_and_status_and_each_jobs_newest_finished_run() -> None:
    summary = RunSummary(
        groups=[
            RunGroup("history", "SUCCESS", 2, DurationTotals.of([30.0, 100.0]), 100.0),
            RunGroup("history", "FAILURE", 1, DurationTotals.of([5.0]), 200.0),
            RunGroup("report", "STARTED", 1, DurationTotals.of([]), 900.0),
            RunGroup("report", "QUEUED", 1, DurationTotals.of([]), None),
        ],
        last_finished={"history": ("r3", RunObservation("history", "SUCCESS", 300.0, 400.0))},
    )
    found = samples(run_metrics(summary, now=1000.0))
    assert found[("fin_assets_runs", (("dagster_job", "history"), ("status", "SUCCESS")))] == 2
    assert found[("fin_assets_runs", (("dagster_job", "report"), ("status", "QUEUED")))] == 1
    assert found[("fin_assets_job_last_run_failed", (("dagster_job", "history"),))] == 0
    assert found[("fin_assets_job_last_run_duration_seconds", (("dagster_job", "history"),))] == 100
    assert (
        found[("fin_assets_job_oldest_running_run_age_seconds", (("dagster_job", "report"),))]
        == 100
    )
    # Finished durations 30, 100, 5 s: 1 run ≤ 5 s, 2 ≤ 30 s, 3 ≤ 120 s; sum 135 s.
    bucket = "fin_assets_run_duration_seconds_bucket"
    assert found[(bucket, (("dagster_job", "history"), ("le", "5.0")))] == 1
    assert found[(bucket, (("dagster_job", "history"), ("le", "30.0")))] == 2
    assert found[(bucket, (("dagster_job", "history"), ("le", "120.0")))] == 3
    assert found[("fin_assets_run_duration_seconds_sum", (("dagster_job", "history"),))] == 135
    assert found[("fin_assets_source_up", (("source", "test"),))] == 1


def test_a_failing_source_reports_down_and_the_others_still_report() -> None:
    def broken():
        raise OSError("warehouse locked")

    registry = CollectorRegistry(auto_describe=False)
    runs = RunSummary([RunGroup("history", "SUCCESS", 1, DurationTotals.of([1.0]), 0.0)], {})
    registry.register(
        FinAssetsCollector({"warehouse": broken, "instance": lambda: run_metrics(runs, 2.0)})
    )
    text = generate_latest(registry).decode()
    assert 'fin_assets_source_up{source="warehouse"} 0.0' in text
    assert 'fin_assets_source_up{source="instance"} 1.0' in text
    assert 'fin_assets_runs{dagster_job="history",status="SUCCESS"} 1.0' in text


def test_remaining_quota_and_call_counts_are_read_from_the_shared_limiter_store(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'limiter.sqlite'}"
    quotas = (Quota(5, 3600), Quota(25, 86_400))
    limiter = shared_limiter("alphavantage", "key-1", quotas, url)
    for _ in range(3):
        limiter.acquire()
    store = read_limiter_store(url)
    states = {
        (q.vendor, q.quota): (q.limit, q.remaining) for q in quota_states(store.states, time.time())
    }
    # One token refills every 720 s (5/h) and 3,456 s (25/day): none within the test.
    assert states == {
        ("alphavantage", "5/3600s"): (5, 2),
        ("alphavantage", "25/86400s"): (25, 22),
    }
    assert store.events == {("alphavantage", "call"): 3}


def test_throttles_and_retries_are_counted_in_the_store(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    clock = FakeClock()
    engine = limiter_engine(f"sqlite:///{tmp_path / 'limiter.sqlite'}")
    limiter = RateLimiter(
        "alphavantage",
        (Quota(1, 60),),
        clock=clock,
        store=SqlStateStore(engine, "alphavantage:k:1/60s"),
        on_event=partial(record_event, engine, "alphavantage"),
    )
    # A real Alpha Vantage rate-limit note (HTTP 200), then the data: one retry.
    httpserver.expect_ordered_request("/query").respond_with_data(
        fixture_bytes("alphavantage/error_rate_limit_Note_5perMin_500perDay_2019.json"),
        content_type="application/json",
    )
    httpserver.expect_ordered_request("/query").respond_with_data(AV_CSV, content_type="text/csv")
    client = make_client(alphavantage, httpserver, clock)
    client = replace(client, limiter=limiter)
    alphavantage.query(client, "SECRET", AV_PARAMS)
    # The retry slept the note's 60 s, so its token had refilled; a call right after waits.
    limiter.acquire()
    events = read_limiter_store(str(engine.url)).events
    assert events == {
        ("alphavantage", "call"): 3,
        ("alphavantage", "throttle"): 1,
        ("alphavantage", "retry"): 1,
    }


def test_a_missing_limiter_store_is_empty_and_not_created(tmp_path: Path) -> None:
    store = read_limiter_store(f"sqlite:///{tmp_path / 'none.sqlite'}")
    assert (store.states, store.events) == ([], {})
    assert not (tmp_path / "none.sqlite").exists()


def test_landing_files_by_state_and_their_time_to_the_warehouse(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path / "lake"))
    lake.replace_object("landing/AAPL/2025-01-02/a.csv", b"one")
    lake.replace_object("landing/AAPL/2025-01-03/b.csv", b"two")
    lake.replace_object("landing/AAPL/2025-01-06/c.csv", b"three")
    lake.replace_object("quarantine/landing/AAPL/x/bad.csv", b"bad")
    lake.replace_object("quarantine/landing/AAPL/x/bad.csv.error.json", b"{}")
    infos = lake.list_object_infos("")
    landed_a = next(i for i in infos if i.key.endswith("a.csv")).last_modified.timestamp()
    # a.csv's current bytes reached the warehouse 42.5 s after landing; b.csv was ingested in
    # an earlier version only.
    ingested = {
        "landing/AAPL/2025-01-02/a.csv@" + lake.object_etag("landing/AAPL/2025-01-02/a.csv"): (
            landed_a + 42.5
        ),
        "landing/AAPL/2025-01-03/b.csv@0123": landed_a,
    }
    reading = landing_reading(lambda info: lake.object_etag(info.key), infos, ingested)
    assert reading.states == {"ingested": 1, "quarantined": 1, "waiting": 2}
    assert reading.latencies == [pytest.approx(42.5)]
    found = samples(landing_metrics(reading.states, reading.latencies))
    assert found[("fin_assets_landing_to_warehouse_seconds_bucket", (("le", "30.0"),))] == 0
    assert found[("fin_assets_landing_to_warehouse_seconds_bucket", (("le", "60.0"),))] == 1
    assert found[("fin_assets_landing_files", (("state", "waiting"),))] == 2


def test_cost_estimate_from_the_price_table() -> None:
    prices = PriceTable(
        s3_put_per_1000=0.005,
        s3_gb_month=0.023,
        spark_core_second=0.0001,
        spark_cores=8,
        run_second=0.00001,
    )
    costs = estimated_costs(Usage(20_000, 50 * 10**9, 100.0, 3600.0), prices)
    assert costs == pytest.approx(
        {"s3_requests": 0.1, "s3_storage_month": 1.15, "spark": 0.08, "runs": 0.036}
    )


def test_a_busy_source_keeps_its_previous_reading() -> None:
    readings = iter([{"fact_daily_bar": 5}, None, {"fact_daily_bar": 7}])
    cached = Cached(lambda: next(readings), interval_seconds=0)
    assert cached() == {"fact_daily_bar": 5}
    assert cached() == {"fact_daily_bar": 5}
    assert cached() == {"fact_daily_bar": 7}


def test_config_file_overrides_slas_prices_and_budget(tmp_path: Path) -> None:
    path = tmp_path / "operations.yaml"
    path.write_text(
        "sla_seconds: {intraday_bars: 900}\nprices: {spark_cores: 16}\nbudget_usd: 250\n"
    )
    config = load_config(str(path))
    assert config.sla_seconds("intraday_bars") == 900
    assert config.sla_seconds("daily_bars") == 36 * 3600
    assert config.prices.spark_cores == 16
    assert config.prices.s3_gb_month == PriceTable().s3_gb_month
    assert config.budget_usd == 250
    path.write_text("prices: {gpu_hour: 3}\n")
    with pytest.raises(ValueError, match=r"prices\.gpu_hour"):
        load_config(str(path))


def test_every_metric_is_documented() -> None:
    """docs/operations.md lists every metric family metrics.py defines."""
    repository = Path(__file__).resolve().parents[2]
    source = (repository / "fin_assets" / "operations" / "metrics.py").read_text()
    names = set(re.findall(r'_name\(\s*"(\w+)"', source))
    names |= set(re.findall(r'_histogram\(\s*"(\w+)"', source))
    assert len(names) > 30
    guide = (repository / "docs" / "operations.md").read_text()
    assert sorted(name for name in names if f"`fin_assets_{name}" not in guide) == []
