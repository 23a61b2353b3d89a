"""Which runs carry a changed day to its look-back dependents (defs/ingest/lookback.py)."""

from datetime import date
from pathlib import Path

from fin_assets.analytics.schemas import INDICATORS, PORTFOLIO_RISK, RISK
from fin_assets.defs.ingest.lookback import LOOKBACK_DEPENDENTS, dependent_runs, refresh_runs
from fin_assets.resources.lake import ParquetLake


def test_the_symbols_later_dates_and_the_portfolio_from_the_changed_day(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path / "lake"))
    for day in range(1, 21):
        lake.write_partition(
            "technical_indicators",
            INDICATORS.empty_table(),
            trade_date=date(2025, 1, day),
            symbol="AAPL",
        )
    lake.write_partition(
        "risk_metrics", RISK.empty_table(), trade_date=date(2025, 1, 22), symbol="AAPL"
    )
    lake.write_partition(
        "risk_metrics", RISK.empty_table(), trade_date=date(2025, 2, 1), symbol="MSFT"
    )
    for day in (3, 10, 17):
        lake.write_partition(
            "portfolio_risk", PORTFOLIO_RISK.empty_table(), trade_date=date(2025, 1, day)
        )

    symbol, portfolio = dependent_runs(lake, "AAPL", date(2025, 1, 6), date(2025, 1, 7))

    assert (symbol.job_name, symbol.assets) == ("symbol_history_job", LOOKBACK_DEPENDENTS)
    assert (symbol.start, symbol.end) == (date(2025, 1, 8), date(2025, 1, 22))
    assert symbol.tags == {
        "dagster/asset_partition_range_start": "2025-01-08|AAPL",
        "dagster/asset_partition_range_end": "2025-01-22|AAPL",
    }
    assert (portfolio.job_name, portfolio.assets) == ("portfolio_job", None)
    assert portfolio.tags == {
        "dagster/asset_partition_range_start": "2025-01-06",
        "dagster/asset_partition_range_end": "2025-01-17",
    }


def test_nothing_to_carry_when_no_later_date_was_materialized(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path / "lake"))
    lake.write_partition(
        "technical_indicators", INDICATORS.empty_table(), trade_date=date(2025, 1, 6), symbol="AAPL"
    )
    assert dependent_runs(lake, "AAPL", date(2025, 1, 6), date(2025, 1, 6)) == []


def test_stale_ranges_make_one_run_per_symbol_and_one_portfolio_run() -> None:
    stale = [
        ("MSFT", date(2025, 1, 8), date(2025, 1, 9)),
        ("AAPL", date(2025, 1, 7), date(2025, 1, 10)),
        (None, date(2025, 1, 9), date(2025, 1, 20)),
        ("AAPL", date(2025, 1, 3), date(2025, 1, 4)),
        (None, date(2025, 1, 6), date(2025, 1, 6)),
    ]

    aapl, msft, portfolio = refresh_runs(stale)

    assert (aapl.job_name, aapl.assets) == ("symbol_history_job", LOOKBACK_DEPENDENTS)
    assert aapl.tags == {
        "dagster/asset_partition_range_start": "2025-01-03|AAPL",
        "dagster/asset_partition_range_end": "2025-01-10|AAPL",
    }
    assert (msft.start, msft.end) == (date(2025, 1, 8), date(2025, 1, 9))
    assert (portfolio.job_name, portfolio.assets) == ("portfolio_job", None)
    assert (portfolio.start, portfolio.end) == (date(2025, 1, 6), date(2025, 1, 20))
    assert refresh_runs([]) == []
