"""The warehouse's check rules and audit queries, from rows whose answer is known."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from fin_assets.warehouse.check_rules import (
    bars_current_result,
    one_current_version_result,
    range_key_results,
    unique_dates_result,
)
from fin_assets.warehouse.queries import range_counts_query


def test_range_key_results_compare_stored_distinct_and_lake_rows() -> None:
    matches, unique = range_key_results("fact_risk", stored=10, distinct=9, lake_rows=12)
    assert (matches.rule, matches.passed, matches.failed_rows, matches.checked_rows) == (
        "rows_match_lake",
        False,
        2,
        12,
    )
    assert (unique.rule, unique.passed, unique.failed_rows, unique.checked_rows) == (
        "unique_key",
        False,
        1,
        10,
    )
    assert all(r.passed for r in range_key_results("fact_risk", 5, 5, 5))


def test_range_counts_query_counts_the_range_and_its_distinct_keys() -> None:
    rows = pd.DataFrame(
        {
            "symbol": ["AAPL", "AAPL", "AAPL", "MSFT", "BTC"],
            "trade_date": pd.to_datetime(
                ["2025-01-02", "2025-01-02", "2025-01-03", "2025-01-02", "2025-01-02"]
            ).date,
        }
    )
    con = duckdb.connect()
    con.register("facts", rows)
    sql, params = range_counts_query(
        "facts", ["symbol", "trade_date"], date(2025, 1, 2), date(2025, 1, 3), ["AAPL", "MSFT"]
    )
    assert con.execute(sql, params).fetchall() == [(4, 3)]
    sql, params = range_counts_query("facts", ["symbol"], date(2025, 1, 2), date(2025, 1, 2), None)
    assert con.execute(sql, params).fetchall() == [(4, 3)]


def test_one_current_version_fails_missing_doubled_foreign_and_overlapping_symbols() -> None:
    versions = pd.DataFrame(
        [
            (1, "AAPL", date(2025, 1, 1), date(9999, 12, 31), True),
            (2, "MSFT", date(2025, 1, 1), date(2025, 3, 1), False),
            (3, "MSFT", date(2025, 2, 1), date(9999, 12, 31), True),  # overlaps key 2
            (4, "NVDA", date(2025, 1, 1), date(9999, 12, 31), True),
            (5, "NVDA", date(2025, 2, 1), date(9999, 12, 31), True),  # two current
            (6, "DOGE", date(2025, 1, 1), date(9999, 12, 31), True),  # not in the universe
        ],
        columns=["symbol_key", "symbol", "valid_from", "valid_to", "is_current"],
    )
    result = one_current_version_result(versions, ["AAPL", "MSFT", "NVDA", "JPM"])
    assert not result.passed
    assert result.failed_rows == 4  # DOGE, JPM (none), MSFT (overlap), NVDA (two)
    assert set(result.sample["symbol"]) == {"DOGE", "MSFT", "NVDA"}
    assert one_current_version_result(versions.iloc[:1], ["AAPL"]).passed


def test_unique_dates_lists_every_row_of_a_shared_date_key() -> None:
    result = unique_dates_result(pd.DataFrame({"date_key": [20250101, 20250102, 20250102]}))
    assert (result.passed, result.failed_rows, result.checked_rows) == (False, 2, 3)


def test_bars_current_places_stale_rows_on_their_partitions() -> None:
    stale = pd.DataFrame(
        {
            "symbol": ["AAPL", None],
            "trade_date": [date(2025, 1, 3), date(2025, 1, 6)],
            "stale_count": [2, 1],
        }
    )
    result = bars_current_result("fact_risk", stale, checked_rows=40)
    assert (result.rule, result.passed, result.failed_rows, result.checked_rows) == (
        "bars_current",
        False,
        3,
        40,
    )
    assert result.failed_partitions == {("AAPL", date(2025, 1, 3)): 2, (None, date(2025, 1, 6)): 1}
    assert "2025-01-03..2025-01-06" in result.detail
    assert bars_current_result("fact_risk", stale.iloc[:0], checked_rows=40).passed
