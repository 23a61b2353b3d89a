"""Landing files grouped into runs: one per date range and contiguous stretch of partition values.

A run covers a rectangle of date × member partitions (its members contiguous in the universe
order, fin_assets.shared.partitions.PartitionValues.member_ranges). Files of one date range (a
vendor drop, a streaming flush) therefore make one run per contiguous stretch of their symbols'
partition values, holding those files in landing order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from fin_assets.landing.contract import LandingKey
from fin_assets.landing.cursor import LandedFile
from fin_assets.shared.partitions import partition_values


@dataclass(frozen=True)
class LandingBatch:
    """Landing files one run ingests: same date range, contiguous partition values."""

    files: tuple[LandedFile, ...]
    start: date
    end: date
    first: str
    last: str

    @property
    def keys(self) -> list[str]:
        return [landed.key for landed in self.files]

    @property
    def run_key(self) -> str:
        """Dagster run key: the files' `key@etag`s, so each version of a file runs once."""
        return ",".join(sorted(landed.run_key for landed in self.files))

    @property
    def values(self) -> tuple[str, ...]:
        """The member-dimension values the run covers."""
        return values_between(self.first, self.last)


def values_between(first: str, last: str) -> tuple[str, ...]:
    """The member-dimension values from `first` to `last`, both included, in dimension order."""
    order = list(partition_values().members)
    return tuple(order[order.index(first) : order.index(last) + 1])


def landing_batches(files: Sequence[tuple[LandedFile, LandingKey]]) -> list[LandingBatch]:
    """Files grouped into runs (module docstring), by date range, then by stretch of values."""
    by_range: dict[tuple[date, date], list[tuple[LandedFile, LandingKey]]] = {}
    for landed, key in files:
        by_range.setdefault((key.start, key.end), []).append((landed, key))
    partitions = partition_values()
    batches = []
    for (start, end), group in sorted(by_range.items()):
        for first, last in partitions.member_ranges([key.symbol for _, key in group]):
            values = values_between(first, last)
            members = [
                landed for landed, key in group if partitions.partition_of[key.symbol] in values
            ]
            batches.append(LandingBatch(tuple(members), start, end, first, last))
    return batches
