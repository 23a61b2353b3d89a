"""Partitions of the asset graph: calendar `date` × static `symbol` from the universe file.

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
    MultiPartitionMapping,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
)

from fin_assets.universe import load_universe

HISTORY_START = date.fromisoformat(os.environ.get("FIN_HISTORY_START", "2025-01-01"))

# Calendar days of daily bars that dominate a partition's indicators and risk figures: 200
# sessions of SMA 200 plus the 250-return VaR window fit in 400 calendar days. The assets read
# the full history from HISTORY_START; this look-back is what the asset graph declares.
LOOKBACK_DAYS = 400
# Calendar days of indicators the signals declare they depend on: always spans the previous
# session, the one row a crossover compares with (the asset reads exactly that session).
PREVIOUS_SESSION_DAYS = 14

SYMBOLS: tuple[str, ...] = tuple(s.symbol for s in load_universe())

date_partitions = DailyPartitionsDefinition(start_date=HISTORY_START.isoformat(), end_offset=0)
symbol_partitions = StaticPartitionsDefinition(list(SYMBOLS))
date_symbol_partitions = MultiPartitionsDefinition(
    {"date": date_partitions, "symbol": symbol_partitions}
)


def lookback_mapping(days: int) -> MultiPartitionMapping:
    """Each (date, symbol) depends on the same symbol's partitions of the `days` previous dates."""
    return MultiPartitionMapping(
        {
            "date": DimensionPartitionMapping(
                "date",
                TimeWindowPartitionMapping(
                    start_offset=-days, allow_nonexistent_upstream_partitions=True
                ),
            ),
            "symbol": DimensionPartitionMapping("symbol", IdentityPartitionMapping()),
        }
    )
