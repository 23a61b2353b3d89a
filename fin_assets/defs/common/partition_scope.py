"""The (dates × symbols) rectangle a run covers (fin_assets.shared.partition_scope), read from its
partition keys.

One run may cover a single partition or a range (BackfillPolicy.single_run, or the range tags
the CLI sets); a range of a date × symbol MultiPartitionsDefinition is always a rectangle.
"""

from __future__ import annotations

from datetime import date

from dagster import AssetExecutionContext, MultiPartitionKey

from fin_assets.shared.partition_scope import PartitionScope
from fin_assets.shared.partitions import partition_values


def date_symbol_scope(context: AssetExecutionContext) -> PartitionScope:
    """Scope of a run of a date × symbol partitioned asset (a block's partitions: its members)."""
    values = partition_values()
    dates: set[date] = set()
    symbols: set[str] = set()
    for key in context.partition_keys:
        if not isinstance(key, MultiPartitionKey):
            raise TypeError(f"expected a date|symbol partition key, got {key!r}")
        dates.add(date.fromisoformat(key.keys_by_dimension["date"]))
        symbols.update(values.members_of(key.keys_by_dimension[values.member_dimension]))
    return PartitionScope(
        dates=tuple(sorted(dates)), symbols=tuple(s for s in values.symbols if s in symbols)
    )


def date_scope(context: AssetExecutionContext) -> tuple[date, ...]:
    """Dates (ascending) of a run of a date partitioned asset."""
    return tuple(sorted(date.fromisoformat(key) for key in context.partition_keys))
