"""Partitions of the asset graph: calendar `date` × a static dimension from the universe file.

The second dimension is `symbol` (one partition per symbol) or, when the universe file assigns
every symbol a `block`, `block` (one partition per block of symbols sharing a calendar, which
keeps a large universe under Dagster's 100,000 partitions per asset; docs/scaling.md). Code
outside this module never names the dimension: it asks for `MEMBER_DIMENSION`,
`members_of` and `partition_key`.

HISTORY_START is the first date of every daily dimension: indicators and risk read a symbol's
whole daily history from there (seeded EMAs and RSI have unbounded memory), so a partition gives
the value TA-Lib gives over the whole history up to its date. Override with FIN_HISTORY_START.
The last partition is yesterday (UTC): a day is only partitioned once it is complete.
"""

from __future__ import annotations

import os
from datetime import date

from dagster import (
    DailyPartitionsDefinition,
    DimensionPartitionMapping,
    IdentityPartitionMapping,
    MultiPartitionKey,
    MultiPartitionMapping,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
)

from fin_assets.universe import load_universe

HISTORY_START = date.fromisoformat(os.environ.get("FIN_HISTORY_START", "2025-01-01"))

# Calendar days of daily bars that dominate a partition's indicators and risk figures: 200
# sessions of SMA 200 plus the 250-return VaR window fit in 400 calendar days. The assets read
# the full history from HISTORY_START; this look-back is what automation follows
# (fin_assets.defs.automation.LOOKBACKS).
LOOKBACK_DAYS = 400
# Calendar days of indicators the signals' look-back covers: always spans the previous
# session, the one row a crossover compares with (the asset reads exactly that session).
PREVIOUS_SESSION_DAYS = 14

SYMBOLS: tuple[str, ...] = tuple(s.symbol for s in load_universe())
# The symbols' partition values: each symbol, or its block.
PARTITION_OF: dict[str, str] = {s.symbol: s.block or s.symbol for s in load_universe()}
MEMBER_DIMENSION = "block" if any(s.block for s in load_universe()) else "symbol"
# Each partition value's symbols, both in universe order.
MEMBERS: dict[str, tuple[str, ...]] = {
    value: tuple(s for s in SYMBOLS if PARTITION_OF[s] == value)
    for value in dict.fromkeys(PARTITION_OF.values())
}

date_partitions = DailyPartitionsDefinition(start_date=HISTORY_START.isoformat(), end_offset=0)
member_partitions = StaticPartitionsDefinition(list(MEMBERS))
date_symbol_partitions = MultiPartitionsDefinition(
    {"date": date_partitions, MEMBER_DIMENSION: member_partitions}
)


def members_of(value: str) -> tuple[str, ...]:
    """The symbols of a partition value of the member dimension (a symbol or a block)."""
    return MEMBERS[value]


def partition_key(day: date | str, value: str) -> MultiPartitionKey:
    """The date × member partition key of `day` and a member-dimension value."""
    return MultiPartitionKey({"date": str(day), MEMBER_DIMENSION: value})


def lookback_mapping(days: int) -> MultiPartitionMapping:
    """Each (date, member) depends on the same member's partitions of the `days` previous dates."""
    return MultiPartitionMapping(
        {
            "date": DimensionPartitionMapping(
                "date",
                TimeWindowPartitionMapping(
                    start_offset=-days, allow_nonexistent_upstream_partitions=True
                ),
            ),
            MEMBER_DIMENSION: DimensionPartitionMapping(
                MEMBER_DIMENSION, IdentityPartitionMapping()
            ),
        }
    )
