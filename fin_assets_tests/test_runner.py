"""Planning runs over partition ranges."""

from datetime import date

import pytest

from fin_assets.runner import RunRequest, member_ranges, plan_runs


def test_member_ranges_follow_the_universe_order() -> None:
    assert member_ranges(
        ["AAPL", "MSFT", "NVDA", "JPM", "XOM", "JNJ", "SPY", "BTC", "ETH", "SOL"]
    ) == [("AAPL", "SOL")]
    assert member_ranges(["SOL", "AAPL", "MSFT", "BTC"]) == [
        ("AAPL", "MSFT"),
        ("BTC", "BTC"),
        ("SOL", "SOL"),
    ]


def test_unknown_symbols_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown symbols \\['DOGE'\\]"):
        member_ranges(["AAPL", "DOGE"])


def test_blocks_are_halved_for_parallel_runs() -> None:
    assert member_ranges(["AAPL", "MSFT", "NVDA", "JPM", "XOM"], parallel_runs=2) == [
        ("AAPL", "NVDA"),
        ("JPM", "XOM"),
    ]
    assert member_ranges(["AAPL", "BTC"], parallel_runs=4) == [("AAPL", "AAPL"), ("BTC", "BTC")]


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
