"""Partitions of the asset graph: calendar `date` × a static dimension from the universe file.

The partition values (the history start, the member dimension `symbol` or `block`, its values
and their symbols) are fin_assets.shared.partitions, which the Spark jobs share; this module builds
Dagster's partitions definitions and mappings from them, when the definitions are built
(`graph_partitions()`), not at import. The last partition is yesterday (UTC): a day is only
partitioned once it is complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

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

from fin_assets.shared.partitions import PartitionValues, partition_values

# Calendar days of daily bars that dominate a partition's indicators and risk figures: 200
# sessions of SMA 200 plus the 250-return VaR window fit in 400 calendar days. The assets read
# the full history from the history start; this look-back is what automation follows
# (fin_assets.defs.common.automation.LOOKBACKS).
LOOKBACK_DAYS = 400
# Calendar days of indicators the signals' look-back covers: always spans the previous
# session, the one row a crossover compares with (the asset reads exactly that session).
PREVIOUS_SESSION_DAYS = 14


@dataclass(frozen=True)
class GraphPartitions:
    """Dagster's partitions definitions of a set of partition values."""

    values: PartitionValues
    date_partitions: DailyPartitionsDefinition
    member_partitions: StaticPartitionsDefinition
    date_symbol_partitions: MultiPartitionsDefinition

    @classmethod
    def of(cls, values: PartitionValues) -> GraphPartitions:
        date_partitions = DailyPartitionsDefinition(
            start_date=values.history_start.isoformat(), end_offset=0
        )
        member_partitions = StaticPartitionsDefinition(list(values.members))
        return cls(
            values=values,
            date_partitions=date_partitions,
            member_partitions=member_partitions,
            date_symbol_partitions=MultiPartitionsDefinition(
                {"date": date_partitions, values.member_dimension: member_partitions}
            ),
        )

    def partition_key(self, day: date | str, value: str) -> MultiPartitionKey:
        """The date × member partition key of `day` and a member-dimension value."""
        return MultiPartitionKey({"date": str(day), self.values.member_dimension: value})

    def lookback_mapping(self, days: int) -> MultiPartitionMapping:
        """Each (date, member) depends on the same member's partitions of the `days` previous
        dates."""
        dimension = self.values.member_dimension
        return MultiPartitionMapping(
            {
                "date": DimensionPartitionMapping(
                    "date",
                    TimeWindowPartitionMapping(
                        start_offset=-days, allow_nonexistent_upstream_partitions=True
                    ),
                ),
                dimension: DimensionPartitionMapping(dimension, IdentityPartitionMapping()),
            }
        )


@cache
def graph_partitions() -> GraphPartitions:
    """The partitions definitions of the process's partition values (partition_values())."""
    return GraphPartitions.of(partition_values())
