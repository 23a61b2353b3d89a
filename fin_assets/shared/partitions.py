"""The partition values of the universe, without Dagster (fin_assets.defs.common.partitions builds
the Dagster partitions definitions from them).

The second dimension is `symbol` (one partition per symbol) or, when the universe file assigns
every symbol a `block`, `block` (one partition per block of symbols sharing a calendar;
docs/scaling.md). Code outside this module and fin_assets.defs.common.partitions never names the
dimension: it asks for `MEMBER_DIMENSION`, `members_of` and `partition_key_text`.

HISTORY_START is the first date of every daily dimension: indicators and risk read a symbol's
whole daily history from there (seeded EMAs and RSI have unbounded memory), so a partition gives
the value TA-Lib gives over the whole history up to its date. Override with FIN_HISTORY_START.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from fin_assets.settings import history_start
from fin_assets.universe import load_universe

HISTORY_START = history_start()

SYMBOLS: tuple[str, ...] = tuple(s.symbol for s in load_universe())
# The symbols' partition values: each symbol, or its block.
PARTITION_OF: dict[str, str] = {s.symbol: s.block or s.symbol for s in load_universe()}
MEMBER_DIMENSION = "block" if any(s.block for s in load_universe()) else "symbol"
# Each partition value's symbols, both in universe order.
MEMBERS: dict[str, tuple[str, ...]] = {
    value: tuple(s for s in SYMBOLS if PARTITION_OF[s] == value)
    for value in dict.fromkeys(PARTITION_OF.values())
}


def members_of(value: str) -> tuple[str, ...]:
    """The symbols of a partition value of the member dimension (a symbol or a block)."""
    return MEMBERS[value]


def partition_key_text(day: date | str, value: str, dimension: str = MEMBER_DIMENSION) -> str:
    """The text of the date × member partition key of `day` and a member-dimension value, as
    Dagster writes a MultiPartitionKey: the dimensions' keys in the order of their names, joined
    by `|` (fin_assets_tests/defs/test_partition_keys.py compares it with Dagster's)."""
    keys = {"date": str(day), dimension: value}
    return "|".join(keys[name] for name in sorted(keys))


def member_ranges(symbols: Sequence[str], parallel_runs: int = 1) -> list[tuple[str, str]]:
    """Ranges (first, last) of member-dimension values covering every partition of `symbols`.

    One range per contiguous stretch of the dimension's order (in a blocked universe, of the
    blocks holding `symbols`: a run covers whole blocks); the largest ranges are then halved
    until there are `parallel_runs` of them (or every range is one value).
    """
    unknown = sorted(set(symbols) - set(SYMBOLS))
    if unknown:
        raise ValueError(f"unknown symbols {unknown}; the universe has {', '.join(SYMBOLS)}")
    wanted = {PARTITION_OF[symbol] for symbol in symbols}
    values = list(MEMBERS)
    ranges: list[list[str]] = []
    for index, value in enumerate(values):
        if value not in wanted:
            continue
        if index > 0 and values[index - 1] in wanted:
            ranges[-1].append(value)
        else:
            ranges.append([value])
    while len(ranges) < parallel_runs and max(len(r) for r in ranges) > 1:
        largest = max(range(len(ranges)), key=lambda i: len(ranges[i]))
        stretch = ranges[largest]
        half = (len(stretch) + 1) // 2
        ranges[largest : largest + 1] = [stretch[:half], stretch[half:]]
    return [(stretch[0], stretch[-1]) for stretch in ranges]
