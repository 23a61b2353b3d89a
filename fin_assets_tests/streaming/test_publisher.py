"""Bars → trades: aggregating a minute's trades gives the simulator's bar back."""

import math
from datetime import date

import pandas as pd
import pytest

from fin_assets.analytics import simulator
from fin_assets.streaming.publisher import bar_quotes, merge_by_time
from fin_assets.universe import load_universe

UNIVERSE = {symbol.symbol: symbol for symbol in load_universe()}


@pytest.mark.parametrize("ticker", ["AAPL", "ETH"])
def test_the_trades_of_each_minute_rebuild_the_simulated_bar(ticker: str) -> None:
    symbol = UNIVERSE[ticker]
    bars = simulator.simulate_intraday(42, symbol, date(2025, 6, 2))
    quotes = bar_quotes(symbol, bars)
    assert len(quotes) == 5 * len(bars)
    trades = pd.DataFrame(
        [(q.ts - q.ts % 60_000, q.ts, q.price, q.size) for q in quotes if q.type == "trade"],
        columns=["minute", "ts", "price", "size"],
    )
    rebuilt = (
        trades.sort_values("ts")
        .groupby("minute")
        .agg(
            open=("price", "first"),
            high=("price", "max"),
            low=("price", "min"),
            close=("price", "last"),
            volume=("size", math.fsum),
        )
    )
    minutes = pd.DatetimeIndex(bars["ts"]).as_unit("ms").asi8
    assert rebuilt.index.tolist() == minutes.tolist()
    for column in ("open", "high", "low", "close"):
        assert rebuilt[column].tolist() == bars[column].tolist()
    assert rebuilt["volume"].tolist() == pytest.approx(bars["volume"].tolist(), rel=1e-12)
    assert (trades["size"] >= 0).all()
    heartbeats = [q.ts for q in quotes if q.type == "heartbeat"]
    assert heartbeats == (minutes + 60_000).tolist()


def test_streams_merge_in_event_time_order() -> None:
    day = date(2025, 6, 2)
    streams = [
        bar_quotes(UNIVERSE[t], simulator.simulate_intraday(42, UNIVERSE[t], day))
        for t in ("AAPL", "BTC")
    ]
    merged = list(merge_by_time(streams))
    assert len(merged) == sum(map(len, streams))
    assert [q.ts for q in merged] == sorted(q.ts for q in merged)
