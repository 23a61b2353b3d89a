"""Planning runs over partition ranges."""

from datetime import date
from pathlib import Path

import pytest

from fin_assets.analytics.schemas import DAILY_BARS
from fin_assets.resources.lake import ParquetLake
from fin_assets.runner import RunRequest, plan_graph, plan_runs
from fin_assets.settings import Settings
from fin_assets.shared.lake_io import calendar_dates
from fin_assets.shared.partitions import partition_values


def test_member_ranges_follow_the_universe_order() -> None:
    assert partition_values().member_ranges(
        ["AAPL", "MSFT", "NVDA", "JPM", "XOM", "JNJ", "SPY", "BTC", "ETH", "SOL"]
    ) == [("AAPL", "SOL")]
    assert partition_values().member_ranges(["SOL", "AAPL", "MSFT", "BTC"]) == [
        ("AAPL", "MSFT"),
        ("BTC", "BTC"),
        ("SOL", "SOL"),
    ]


def test_unknown_symbols_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown symbols \\['DOGE'\\]"):
        partition_values().member_ranges(["AAPL", "DOGE"])


def test_blocks_are_halved_for_parallel_runs() -> None:
    assert partition_values().member_ranges(
        ["AAPL", "MSFT", "NVDA", "JPM", "XOM"], parallel_runs=2
    ) == [
        ("AAPL", "NVDA"),
        ("JPM", "XOM"),
    ]
    assert partition_values().member_ranges(["AAPL", "BTC"], parallel_runs=4) == [
        ("AAPL", "AAPL"),
        ("BTC", "BTC"),
    ]


def test_plan_runs_one_run_per_job_and_range() -> None:
    stages = plan_runs(date(2025, 3, 1), date(2025, 3, 31), ["AAPL", "MSFT"])
    assert stages == [
        [RunRequest("reference_job")],
        [RunRequest("symbol_history_job", "2025-03-01|AAPL", "2025-03-31|MSFT")],
        [RunRequest("portfolio_job", "2025-03-01", "2025-03-31")],
    ]
    runs = [request for stage in stages for request in stage]
    assert runs[1].tags == {
        "dagster/asset_partition_range_start": "2025-03-01|AAPL",
        "dagster/asset_partition_range_end": "2025-03-31|MSFT",
    }
    assert runs[0].tags == {}


def test_plan_runs_rejects_reversed_ranges() -> None:
    with pytest.raises(ValueError, match="after end"):
        plan_runs(date(2025, 3, 2), date(2025, 3, 1), ["AAPL"])


def test_plan_graph_includes_the_missing_look_back_and_says_why_no_portfolio(
    tmp_path: Path,
) -> None:
    settings = Settings.local(tmp_path, dagster_pg_url="postgresql://unused")
    lake = ParquetLake(settings.lake_root)
    for day in calendar_dates(date(2025, 1, 1), date(2025, 3, 31)):  # AAPL's history until March
        lake.write_partition("daily_bars", DAILY_BARS.empty_table(), trade_date=day, symbol="AAPL")
    plan = plan_graph(
        settings, date(2025, 6, 1), date(2025, 6, 30), ["AAPL", "BTC"], 2, date(2025, 7, 1)
    )
    assert plan.stages == [
        [RunRequest("reference_job")],
        [
            RunRequest("symbol_history_job", "2025-01-01|AAPL", "2025-06-30|AAPL"),
            RunRequest("symbol_history_job", "2025-01-01|BTC", "2025-06-30|BTC"),
        ],
        [RunRequest("report_job")],
    ]
    look_back, portfolio = plan.notes
    assert "AAPL from 2025-04-01, BTC from 2025-01-01" in look_back
    assert "the history runs start at 2025-01-01" in look_back
    assert portfolio.startswith("portfolio: not run")
    assert "MSFT, NVDA, JPM, XOM, JNJ, SPY, ETH, SOL lack daily bars up to 2025-06-30" in portfolio


def test_plan_graph_keeps_the_range_and_the_portfolio_when_history_exists(tmp_path: Path) -> None:
    settings = Settings.local(tmp_path, dagster_pg_url="postgresql://unused")
    lake = ParquetLake(settings.lake_root)
    for symbol in partition_values().symbols:
        for day in calendar_dates(date(2025, 1, 1), date(2025, 1, 31)):
            lake.write_partition(
                "daily_bars", DAILY_BARS.empty_table(), trade_date=day, symbol=symbol
            )
    plan = plan_graph(settings, date(2025, 1, 20), date(2025, 1, 31), ["BTC"], 1, date(2025, 2, 1))
    assert plan.notes == []
    assert plan.stages == [
        [RunRequest("reference_job")],
        [RunRequest("symbol_history_job", "2025-01-20|BTC", "2025-01-31|BTC")],
        [RunRequest("portfolio_job", "2025-01-20", "2025-01-31")],
        [RunRequest("report_job")],
    ]
