"""The (dates × symbols) rectangle a run covers.

One run may cover a single partition or a range (BackfillPolicy.single_run, or the range tags
the CLI sets); a range of a date × symbol MultiPartitionsDefinition is always a rectangle.
fin_assets.defs.common.partition_scope reads it from a Dagster run's partition keys; the Spark jobs
from their arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class PartitionScope:
    """Calendar dates (ascending) and symbols (universe order) of a run."""

    dates: tuple[date, ...]
    symbols: tuple[str, ...]

    @property
    def start(self) -> date:
        return self.dates[0]

    @property
    def end(self) -> date:
        return self.dates[-1]

    @property
    def partition_count(self) -> int:
        return len(self.dates) * len(self.symbols)
