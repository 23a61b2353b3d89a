"""The watermark rule: out-of-order trades fold in, late ones are rejected, heartbeats close."""

from datetime import date

import pandas as pd
import pytest

from fin_assets.streaming.messages import Quote
from fin_assets.streaming.minute_bars import ClosedBar, PartitionBars, SymbolClock
from fin_assets.universe import load_universe

UNIVERSE = {symbol.symbol: symbol for symbol in load_universe()}
DAY = date(2025, 6, 2)
OPEN = int(pd.Timestamp("2025-06-02 13:30", tz="UTC").timestamp() * 1000)
"""AAPL's first minute on Monday 2025-06-02 (09:30 New York)."""


def trade(ts: int, price: float, size: float, symbol: str = "AAPL") -> Quote:
    return Quote("trade", symbol, ts, price, size)


def test_out_of_order_trades_within_the_lateness_fold_into_their_minute() -> None:
    bars = PartitionBars(10_000, UNIVERSE)
    for offset, quote in enumerate(
        [
            trade(OPEN + 5_000, 10.0, 1.0),
            trade(OPEN + 20_000, 12.0, 2.0),
            trade(OPEN + 1_000, 9.0, 1.0),
            trade(OPEN + 59_000, 11.0, 0.5),
            trade(OPEN + 65_000, 11.5, 3.0),
        ]
    ):
        assert bars.add(quote, offset) is None
    assert bars.take_closed() == []  # watermark OPEN + 55 s: the first minute may still change
    assert bars.add(trade(OPEN + 50_000, 8.0, 1.0), 5) is None  # out of order, minute still open
    assert bars.add(trade(OPEN + 70_000, 11.7, 1.0), 6) is None  # watermark reaches OPEN + 60 s
    assert bars.take_closed() == [ClosedBar("AAPL", DAY, OPEN, 9.0, 12.0, 8.0, 11.0, 5.5)]
    assert bars.min_open_offset() == 4
    assert bars.open_minutes() == 1


def test_a_trade_of_a_closed_minute_is_late_and_changes_nothing() -> None:
    bars = PartitionBars(10_000, UNIVERSE)
    assert bars.add(trade(OPEN + 1_000, 10.0, 1.0), 0) is None
    assert bars.add(trade(OPEN + 70_000, 10.5, 1.0), 1) is None
    assert bars.take_closed() == [ClosedBar("AAPL", DAY, OPEN, 10.0, 10.0, 10.0, 10.0, 1.0)]
    reason = bars.add(trade(OPEN + 59_999, 99.0, 5.0), 2)
    assert reason == f"late: minute {OPEN} of AAPL closed at watermark {OPEN + 60_000}"
    assert bars.take_closed() == []
    assert bars.clocks["AAPL"] == SymbolClock(trade=OPEN + 70_000)


def test_heartbeats_close_minutes_without_waiting_for_the_next_trade() -> None:
    bars = PartitionBars(10_000, UNIVERSE)
    assert bars.add(trade(OPEN + 45_000, 10.0, 1.0), 0) is None
    assert bars.add(trade(OPEN + 45_000, 10.2, 1.0), 1) is None  # same ts: offset orders them
    assert bars.add(Quote("heartbeat", "AAPL", OPEN + 59_999), 2) is None
    assert bars.take_closed() == []
    assert bars.add(Quote("heartbeat", "AAPL", OPEN + 60_000), 3) is None
    assert bars.take_closed() == [ClosedBar("AAPL", DAY, OPEN, 10.0, 10.2, 10.0, 10.2, 2.0)]
    assert bars.min_open_offset() is None
    assert bars.add(trade(OPEN + 59_000, 10.0, 1.0), 4) is not None


def test_each_symbol_has_its_own_watermark_and_trade_date() -> None:
    bars = PartitionBars(0, UNIVERSE)
    btc_last_minute = int(pd.Timestamp("2025-06-02 23:59", tz="UTC").timestamp() * 1000)
    assert bars.add(trade(btc_last_minute, 100.0, 0.25, "BTC"), 0) is None
    assert bars.add(trade(btc_last_minute + 60_000, 101.0, 0.5, "BTC"), 1) is None
    assert bars.add(trade(OPEN, 10.0, 1.0), 2) is None  # AAPL's minute is not closed by BTC
    closed = bars.take_closed()
    assert closed == [ClosedBar("BTC", DAY, btc_last_minute, 100.0, 100.0, 100.0, 100.0, 0.25)]
    assert bars.open_minutes() == 2


@pytest.mark.parametrize(
    ("symbol", "at", "reason"),
    [
        ("AAPL", "2025-06-02 13:29", "is outside the XNYS session of 2025-06-02"),
        ("AAPL", "2025-06-02 20:00", "is outside the XNYS session of 2025-06-02"),
        ("SPY", "2025-06-01 15:00", "is outside the XNYS session of 2025-06-01"),
        ("DOGE", "2025-06-02 15:00", "symbol 'DOGE' is not in the universe"),
        ("BTC", "1990-01-01 00:00", "has no trade date: date 1990-01-01 is outside"),
    ],
)
def test_trades_outside_a_session_or_the_universe_are_rejected(
    symbol: str, at: str, reason: str
) -> None:
    ts = int(pd.Timestamp(at, tz="UTC").timestamp() * 1000)
    rejection = PartitionBars(0, UNIVERSE).add(trade(ts, 1.0, 1.0, symbol), 0)
    assert rejection is not None and reason in rejection


def test_restored_clocks_reproduce_the_lateness_decisions() -> None:
    restored = PartitionBars(10_000, UNIVERSE, {"AAPL": SymbolClock(OPEN + 70_000, OPEN)})
    assert restored.add(trade(OPEN + 30_000, 10.0, 1.0), 7) is not None
    assert restored.add(trade(OPEN + 61_000, 10.0, 1.0), 8) is None
    with pytest.raises(ValueError, match="allowed lateness must be >= 0 ms"):
        PartitionBars(-1, UNIVERSE)
