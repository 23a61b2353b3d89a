"""Event-time state of one topic partition: ticks → closed one-minute bars (the watermark rule).

Conventions (all times are epoch milliseconds, UTC):

- A trade belongs to the minute `ts - ts % 60000` (the bar's open time) of its symbol.
- Each symbol has a watermark W = max(highest trade ts seen - allowed lateness, highest heartbeat
  ts seen). Minute m is CLOSED once m + 60000 <= W; it is then final and handed to the writer.
- A trade whose minute is already closed when it arrives is LATE: it is rejected (the landing
  writer sends it to the dead-letter topic with the reason) and never changes a written bar.
  Out-of-order trades within the allowed lateness are folded into their still-open minute.
- A bar's open (close) is the price of its trade with the smallest (largest) (ts, offset), high
  and low the extreme prices, volume the exactly rounded sum (math.fsum) of the sizes. A bar is
  therefore a function of the set of its trades only, whatever the arrival order.
- A trade must be in its symbol's universe entry and inside a session minute of the symbol's
  calendar (its trade date is the date in the symbol's time zone); otherwise it is rejected.

The watermark of every symbol depends only on the messages of the partition in offset order, so
which minutes close, and which trades are late, is the same on every replay of the partition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from fin_assets.analytics.market_calendar import session_minutes
from fin_assets.streaming.messages import Quote
from fin_assets.universe import Symbol

MINUTE_MS = 60_000
NO_TIME = -(2**62)
"""Watermark parts before any message of a symbol was seen."""


@dataclass(frozen=True)
class ClosedBar:
    """One final one-minute bar."""

    symbol: str
    trade_date: date
    minute: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass
class _OpenBar:
    trade_date: date
    first: tuple[int, int, float]
    last: tuple[int, int, float]
    high: float
    low: float
    min_offset: int
    sizes: list[float] = field(default_factory=list)

    def add(self, ts: int, offset: int, price: float, size: float) -> None:
        self.first = min(self.first, (ts, offset, price))
        self.last = max(self.last, (ts, offset, price))
        self.high, self.low = max(self.high, price), min(self.low, price)
        self.min_offset = min(self.min_offset, offset)
        self.sizes.append(size)


@dataclass
class SymbolClock:
    """The two parts of a symbol's watermark: highest trade ts and highest heartbeat ts."""

    trade: int = NO_TIME
    heartbeat: int = NO_TIME

    def watermark(self, lateness_ms: int) -> int:
        return max(self.trade - lateness_ms, self.heartbeat)


@cache
def _session_minutes_ms(calendar: str, day: date) -> frozenset[int]:
    return frozenset((session_minutes(calendar, day).asi8 // 1000).tolist())


def _trade_date(symbol: Symbol, minute: int) -> date:
    return datetime.fromtimestamp(minute / 1000, UTC).astimezone(ZoneInfo(symbol.timezone)).date()


class PartitionBars:
    """The open minutes and watermarks of the symbols of one partition (see module docstring)."""

    def __init__(
        self,
        lateness_ms: int,
        universe: Mapping[str, Symbol],
        clocks: Mapping[str, SymbolClock] | None = None,
    ) -> None:
        if lateness_ms < 0:
            raise ValueError(f"allowed lateness must be >= 0 ms, got {lateness_ms}")
        self.lateness_ms = lateness_ms
        self.universe = universe
        self.clocks: dict[str, SymbolClock] = dict(clocks or {})
        self._open: dict[str, dict[int, _OpenBar]] = {}
        self._closed: list[ClosedBar] = []

    def add(self, quote: Quote, offset: int) -> str | None:
        """Apply one message at `offset`; returns why a trade is rejected, None if accepted."""
        symbol = self.universe.get(quote.symbol)
        if symbol is None:
            return f"symbol {quote.symbol!r} is not in the universe"
        clock = self.clocks.setdefault(quote.symbol, SymbolClock())
        if quote.type == "heartbeat":
            clock.heartbeat = max(clock.heartbeat, quote.ts)
            self._close(quote.symbol)
            return None
        assert quote.price is not None and quote.size is not None
        minute = quote.ts - quote.ts % MINUTE_MS
        watermark = clock.watermark(self.lateness_ms)
        if minute + MINUTE_MS <= watermark:
            return f"late: minute {minute} of {quote.symbol} closed at watermark {watermark}"
        bars = self._open.setdefault(quote.symbol, {})
        if minute in bars:  # the minute's session was checked by its first trade
            bars[minute].add(quote.ts, offset, quote.price, quote.size)
        else:
            try:
                trade_date = _trade_date(symbol, minute)
                in_session = minute in _session_minutes_ms(symbol.calendar, trade_date)
            except (ValueError, OverflowError, OSError) as error:
                return f"ts {quote.ts} has no trade date: {error}"
            if not in_session:
                return f"ts {quote.ts} is outside the {symbol.calendar} session of {trade_date}"
            tick = (quote.ts, offset, quote.price)
            bars[minute] = _OpenBar(
                trade_date, tick, tick, quote.price, quote.price, offset, [quote.size]
            )
        clock.trade = max(clock.trade, quote.ts)
        self._close(quote.symbol)
        return None

    def _close(self, ticker: str) -> None:
        bars = self._open.get(ticker)
        if not bars:
            return
        watermark = self.clocks[ticker].watermark(self.lateness_ms)
        for minute in sorted(m for m in bars if m + MINUTE_MS <= watermark):
            bar = bars.pop(minute)
            self._closed.append(
                ClosedBar(
                    symbol=ticker,
                    trade_date=bar.trade_date,
                    minute=minute,
                    open=bar.first[2],
                    high=bar.high,
                    low=bar.low,
                    close=bar.last[2],
                    volume=math.fsum(bar.sizes),
                )
            )

    def take_closed(self) -> list[ClosedBar]:
        """The bars closed since the previous call, in closing order."""
        closed, self._closed = self._closed, []
        return closed

    def min_open_offset(self) -> int | None:
        """Smallest offset of a trade in a still-open minute (None when nothing is open)."""
        offsets = [bar.min_offset for bars in self._open.values() for bar in bars.values()]
        return min(offsets, default=None)

    def open_minutes(self) -> int:
        return sum(len(bars) for bars in self._open.values())
