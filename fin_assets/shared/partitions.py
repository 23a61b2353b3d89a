"""The partition values of the universe, without Dagster (fin_assets.defs.common.partitions builds
the Dagster partitions definitions from them).

The second dimension is `symbol` (one partition per symbol) or, when the universe file assigns
every symbol a `block`, `block` (one partition per block of symbols sharing a calendar;
docs/scaling.md). Code outside this module and fin_assets.defs.common.partitions never names the
dimension: it asks for `member_dimension`, `members_of` and `partition_key_text`.

`history_start` is the first date of every daily dimension: indicators and risk read a symbol's
whole daily history from there (seeded EMAs and RSI have unbounded memory), so a partition gives
the value TA-Lib gives over the whole history up to its date. Override with FIN_HISTORY_START.

Nothing is read at import: `partition_values()` reads the universe file and FIN_HISTORY_START
on its first call, and the process keeps those values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

from fin_assets.settings import history_start
from fin_assets.universe import Symbol, load_universe


@dataclass(frozen=True)
class PartitionValues:
    """The partition values of a universe from `history_start` on."""

    history_start: date
    symbols: tuple[str, ...]
    # The symbols' partition values: each symbol, or its block.
    partition_of: dict[str, str]
    member_dimension: str
    # Each partition value's symbols, both in universe order.
    members: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, universe: Sequence[Symbol], start: date) -> PartitionValues:
        """The values of `universe` (in partition order) with daily dimensions from `start`."""
        symbols = tuple(s.symbol for s in universe)
        partition_of = {s.symbol: s.block or s.symbol for s in universe}
        members = {
            value: tuple(s for s in symbols if partition_of[s] == value)
            for value in dict.fromkeys(partition_of.values())
        }
        return cls(
            history_start=start,
            symbols=symbols,
            partition_of=partition_of,
            member_dimension="block" if any(s.block for s in universe) else "symbol",
            members=members,
        )

    def members_of(self, value: str) -> tuple[str, ...]:
        """The symbols of a partition value of the member dimension (a symbol or a block)."""
        return self.members[value]

    def partition_key_text(self, day: date | str, value: str) -> str:
        """The text of the date × member partition key of `day` and a member-dimension value, as
        Dagster writes a MultiPartitionKey: the dimensions' keys in the order of their names,
        joined by `|` (fin_assets_tests/defs/test_partition_keys.py compares it with Dagster's)."""
        keys = {"date": str(day), self.member_dimension: value}
        return "|".join(keys[name] for name in sorted(keys))

    def member_ranges(
        self, symbols: Sequence[str], parallel_runs: int = 1
    ) -> list[tuple[str, str]]:
        """Ranges (first, last) of member-dimension values covering every partition of `symbols`.

        One range per contiguous stretch of the dimension's order (in a blocked universe, of the
        blocks holding `symbols`: a run covers whole blocks); the largest ranges are then halved
        until there are `parallel_runs` of them (or every range is one value).
        """
        unknown = sorted(set(symbols) - set(self.symbols))
        if unknown:
            raise ValueError(
                f"unknown symbols {unknown}; the universe has {', '.join(self.symbols)}"
            )
        wanted = {self.partition_of[symbol] for symbol in symbols}
        values = list(self.members)
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


@cache
def partition_values() -> PartitionValues:
    """The process's partition values: the universe file (FIN_UNIVERSE_FILE) from
    FIN_HISTORY_START, read on the first call."""
    return PartitionValues.of(load_universe(), history_start())
