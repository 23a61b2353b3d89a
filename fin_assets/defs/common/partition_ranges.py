"""Rectangles of date × member partitions that one run can cover.

A range of the date × member MultiPartitionsDefinition (defs/common/partitions.py: the member
dimension is `symbol`, or `block` in a blocked universe) runs as one run when it is tagged with
Dagster's range tags; its members must be contiguous in the dimension's order (the universe
order), so any set of symbols is covered by one range per contiguous stretch
(fin_assets.shared.partitions.PartitionValues.member_ranges).
"""

from __future__ import annotations

from datetime import date

from fin_assets.defs.common.partitions import graph_partitions

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def range_tags(start_key: str, end_key: str) -> dict[str, str]:
    """Run tags making one run cover the partition keys from `start_key` to `end_key`."""
    return {RANGE_START_TAG: start_key, RANGE_END_TAG: end_key}


def rectangle_tags(start: date, end: date, first: str, last: str) -> dict[str, str]:
    """Range tags of the rectangle [start, end] × member values first..last."""
    partitions = graph_partitions()
    return range_tags(
        str(partitions.partition_key(start, first)), str(partitions.partition_key(end, last))
    )
