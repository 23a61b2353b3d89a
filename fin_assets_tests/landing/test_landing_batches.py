"""Landing files grouped into runs: one per date range and contiguous stretch of the universe
order (AAPL, MSFT, NVDA, JPM, XOM, JNJ, SPY, BTC, ETH, SOL), files in landing order."""

from __future__ import annotations

from datetime import date

from fin_assets.landing.batches import landing_batches
from fin_assets.landing.contract import LandingKey, parse_landing_key
from fin_assets.landing.cursor import LandedFile
from fin_assets.shared.partitions import partition_values

JAN2, JAN3 = date(2025, 1, 2), date(2025, 1, 3)


def landed(key: str) -> tuple[LandedFile, LandingKey]:
    values = partition_values()
    return LandedFile(key, f"etag-{key}", 0.0), parse_landing_key(
        key, values.symbols, values.history_start
    )


def test_one_batch_per_date_range_and_contiguous_stretch_of_symbols() -> None:
    files = [
        landed("landing/MSFT/2025-01-02/b.csv"),
        landed("landing/BTC/2025-01-02/a.csv"),
        landed("landing/AAPL/2025-01-02/c.csv"),
        landed("landing/AAPL/2025-01-02_2025-01-03/week.csv"),
        landed("landing/ETH/2025-01-02/d.csv"),
        landed("landing/MSFT/2025-01-02/e.csv"),
    ]

    batches = landing_batches(files)

    assert [(b.start, b.end, b.first, b.last) for b in batches] == [
        (JAN2, JAN2, "AAPL", "MSFT"),
        (JAN2, JAN2, "BTC", "ETH"),
        (JAN2, JAN3, "AAPL", "AAPL"),
    ]
    assert batches[0].keys == [
        "landing/MSFT/2025-01-02/b.csv",
        "landing/AAPL/2025-01-02/c.csv",
        "landing/MSFT/2025-01-02/e.csv",
    ]
    assert batches[0].values == ("AAPL", "MSFT")
    assert batches[1].keys == ["landing/BTC/2025-01-02/a.csv", "landing/ETH/2025-01-02/d.csv"]
    assert batches[2].run_key == (
        "landing/AAPL/2025-01-02_2025-01-03/week.csv@etag-landing/AAPL/2025-01-02_2025-01-03/week.csv"
    )


def test_a_gap_in_the_universe_order_splits_the_batch() -> None:
    batches = landing_batches(
        [landed("landing/AAPL/2025-01-02/a.csv"), landed("landing/NVDA/2025-01-02/b.csv")]
    )
    assert [(b.first, b.last, b.values) for b in batches] == [
        ("AAPL", "AAPL", ("AAPL",)),
        ("NVDA", "NVDA", ("NVDA",)),
    ]
