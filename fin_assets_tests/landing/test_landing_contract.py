"""Landing keys: what the layout accepts, and the exact problems of what it refuses."""

from __future__ import annotations

from datetime import date

import pytest

from fin_assets.landing.contract import (
    KEY_LAYOUT,
    LandingContractError,
    LandingKey,
    parse_landing_key,
)

SYMBOLS = ("AAPL", "BTC")
FIRST = date(2025, 1, 1)


def test_one_date_and_range_keys() -> None:
    one = parse_landing_key("landing/AAPL/2025-01-02/vendor_x.v2-1.csv", SYMBOLS, FIRST)
    span = parse_landing_key("landing/BTC/2025-01-30_2025-02-02/m.parquet", SYMBOLS, FIRST)

    assert one == LandingKey(
        "landing/AAPL/2025-01-02/vendor_x.v2-1.csv",
        "AAPL",
        date(2025, 1, 2),
        date(2025, 1, 2),
        "csv",
    )
    assert one.dates == (date(2025, 1, 2),)
    assert span.format == "parquet"
    assert span.dates == (
        date(2025, 1, 30),
        date(2025, 1, 31),
        date(2025, 2, 1),
        date(2025, 2, 2),
    )


@pytest.mark.parametrize(
    ("key", "problems"),
    [
        ("landing/AAPL/x.csv", [f"key 'landing/AAPL/x.csv' does not follow {KEY_LAYOUT}"]),
        (
            "landing/AAPL/2025-01-02/a.txt",
            [f"key 'landing/AAPL/2025-01-02/a.txt' does not follow {KEY_LAYOUT}"],
        ),
        (
            "landing/AAPL/2025-01-02/a b.csv",
            [f"key 'landing/AAPL/2025-01-02/a b.csv' does not follow {KEY_LAYOUT}"],
        ),
        (
            "landing/TSLA/2025-01-05_2025-01-02/a.csv",
            [
                "symbol 'TSLA' is not in the universe",
                "date range 2025-01-05_2025-01-02 ends before it starts",
            ],
        ),
        (
            "landing/AAPL/2024-12-31/a.json",
            ["dates 2024-12-31..2024-12-31 fall outside 2025-01-01..2035-12-31"],
        ),
        (
            "landing/AAPL/2025-02-30/a.json",
            [
                "key 'landing/AAPL/2025-02-30/a.json' has an invalid date: "
                "day is out of range for month"
            ],
        ),
    ],
)
def test_keys_breaking_the_layout_list_every_problem(key: str, problems: list[str]) -> None:
    with pytest.raises(LandingContractError) as caught:
        parse_landing_key(key, SYMBOLS, FIRST)
    assert caught.value.problems == problems
