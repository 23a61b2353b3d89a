"""Rectangles of date × symbol partitions that one run can cover.

A range of the date × symbol MultiPartitionsDefinition runs as one run when it is tagged with
Dagster's range tags; its symbols must be contiguous in the universe order (the order of the
`symbol` dimension), so any set of symbols is covered by one block per contiguous stretch.
"""

from __future__ import annotations

from collections.abc import Sequence

from fin_assets.defs.partitions import SYMBOLS

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def range_tags(start_key: str, end_key: str) -> dict[str, str]:
    """Run tags making one run cover the partition keys from `start_key` to `end_key`."""
    return {RANGE_START_TAG: start_key, RANGE_END_TAG: end_key}


def symbol_blocks(symbols: Sequence[str], parallel_runs: int = 1) -> list[tuple[str, str]]:
    """Blocks (first, last) of the universe order covering exactly `symbols`.

    One block per contiguous stretch of the universe order; the largest blocks are then halved
    until there are `parallel_runs` blocks (or every block is one symbol).
    """
    unknown = sorted(set(symbols) - set(SYMBOLS))
    if unknown:
        raise ValueError(f"unknown symbols {unknown}; the universe has {', '.join(SYMBOLS)}")
    wanted = set(symbols)
    blocks: list[list[str]] = []
    for index, symbol in enumerate(SYMBOLS):
        if symbol not in wanted:
            continue
        if index > 0 and SYMBOLS[index - 1] in wanted:
            blocks[-1].append(symbol)
        else:
            blocks.append([symbol])
    while len(blocks) < parallel_runs and max(len(b) for b in blocks) > 1:
        largest = max(range(len(blocks)), key=lambda i: len(blocks[i]))
        block = blocks[largest]
        half = (len(block) + 1) // 2
        blocks[largest : largest + 1] = [block[:half], block[half:]]
    return [(block[0], block[-1]) for block in blocks]
