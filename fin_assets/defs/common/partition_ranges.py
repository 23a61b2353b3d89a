"""Rectangles of date × member partitions that one run can cover.

A range of the date × member MultiPartitionsDefinition (defs/common/partitions.py: the member
dimension is `symbol`, or `block` in a blocked universe) runs as one run when it is tagged with
Dagster's range tags; its members must be contiguous in the dimension's order (the universe
order), so any set of symbols is covered by one range per contiguous stretch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from fin_assets.defs.common.partitions import MEMBERS, PARTITION_OF, SYMBOLS, partition_key

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def range_tags(start_key: str, end_key: str) -> dict[str, str]:
    """Run tags making one run cover the partition keys from `start_key` to `end_key`."""
    return {RANGE_START_TAG: start_key, RANGE_END_TAG: end_key}


def rectangle_tags(start: date, end: date, first: str, last: str) -> dict[str, str]:
    """Range tags of the rectangle [start, end] × member values first..last."""
    return range_tags(str(partition_key(start, first)), str(partition_key(end, last)))


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
