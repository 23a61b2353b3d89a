"""The raw quotes', bars' and anomalies' check rules (fin_assets.shared.check_rules), from rows
whose answer is known."""

from __future__ import annotations

from datetime import date

import pandas as pd

from fin_assets.shared.check_rules import (
    anomaly_result,
    ohlc_repaired_result,
    payload_present_result,
    session_has_bars_result,
)

DAY = date(2025, 1, 2)


def test_payload_present_places_each_missing_session_on_its_partition() -> None:
    result = payload_present_result([["AAPL", "2025-01-02"], ["BTC", "2025-01-03"]], 20)
    assert (result.rule, result.passed, result.failed_rows, result.checked_rows) == (
        "payload_present",
        False,
        2,
        20,
    )
    assert result.failed_partitions == {("AAPL", DAY): 1, ("BTC", date(2025, 1, 3)): 1}
    assert result.detail == "2 session partitions without a payload"
    landing = payload_present_result([], 4, "landing payload")
    assert landing.passed and landing.detail == "0 session partitions without a landing payload"


def test_session_has_bars_lists_the_sessions_answered_without_a_bar() -> None:
    result = session_has_bars_result(["AAPL|2025-01-02"], 10)
    assert (result.passed, result.failed_rows, result.checked_rows) == (False, 1, 10)
    assert result.sample.values.tolist() == [["AAPL", "2025-01-02"]]
    assert result.detail.endswith(": AAPL|2025-01-02")
    assert session_has_bars_result([], 10).passed


def test_ohlc_repaired_counts_the_repaired_bars_and_names_their_sources() -> None:
    ts = pd.Timestamp("2025-01-02 14:30", tz="UTC")
    repaired = [("AAPL", DAY, "landing", ts), ("AAPL", DAY, "alpaca", ts)]
    result = ohlc_repaired_result(repaired, 390)
    assert (result.passed, result.failed_rows, result.checked_rows) == (False, 2, 390)
    assert "2 of 390 bars repaired" in result.detail
    assert "sources alpaca, landing" in result.detail
    clean = ohlc_repaired_result([], 390)
    assert clean.passed and clean.detail == "no bar of 390 needed an OHLC repair"


def test_anomaly_result_fails_on_the_partitions_of_its_kind_only() -> None:
    frame = pd.DataFrame(
        {
            "symbol": ["AAPL", "AAPL", "MSFT"],
            "trade_date": [DAY, date(2025, 1, 3), DAY],
            "anomaly": ["volume_spike", "stale_price", "volume_spike"],
        }
    )
    spikes = anomaly_result(frame, "volume_spike", partitions=6)
    assert (spikes.rule, spikes.passed, spikes.failed_rows, spikes.checked_rows) == (
        "volume_spike",
        False,
        2,
        6,
    )
    assert spikes.failed_partitions == {("AAPL", DAY): 1, ("MSFT", DAY): 1}
    assert anomaly_result(frame, "calendar_gap", partitions=6).passed
