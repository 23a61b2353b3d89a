"""Partitions of the asset graph: calendar `date` × a static dimension from the universe file.

The partition values (HISTORY_START, the member dimension `symbol` or `block`, its values and
their symbols) are fin_assets.shared.partitions, which the Spark jobs share; this module builds
Dagster's partitions definitions and mappings from them. The last partition is yesterday (UTC):
a day is only partitioned once it is complete.
"""

from __future__ import annotations

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

from fin_assets.shared.partitions import (
    HISTORY_START,
    MEMBER_DIMENSION,
    MEMBERS,
    PARTITION_OF,
    SYMBOLS,
    members_of,
)

# Calendar days of daily bars that dominate a partition's indicators and risk figures: 200
# sessions of SMA 200 plus the 250-return VaR window fit in 400 calendar days. The assets read
# the full history from HISTORY_START; this look-back is what automation follows
# (fin_assets.defs.common.automation.LOOKBACKS).
LOOKBACK_DAYS = 400
# Calendar days of indicators the signals' look-back covers: always spans the previous
# session, the one row a crossover compares with (the asset reads exactly that session).
PREVIOUS_SESSION_DAYS = 14

date_partitions = DailyPartitionsDefinition(start_date=HISTORY_START.isoformat(), end_offset=0)
member_partitions = StaticPartitionsDefinition(list(MEMBERS))
date_symbol_partitions = MultiPartitionsDefinition(
    {"date": date_partitions, MEMBER_DIMENSION: member_partitions}
)
# The wiring imports all of it from here, the shared partition values included.
__all__ = [
    "HISTORY_START",
    "LOOKBACK_DAYS",
    "MEMBERS",
    "MEMBER_DIMENSION",
    "PARTITION_OF",
    "PREVIOUS_SESSION_DAYS",
    "SYMBOLS",
    "date_partitions",
    "date_symbol_partitions",
    "lookback_mapping",
    "member_partitions",
    "members_of",
    "partition_key",
]


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
