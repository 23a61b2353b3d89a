"""The raw bar sources of one session partition, in ascending precedence: landing beats vendor.

A session partition's one-minute bars may come from the symbol's vendor (raw_quotes pulls) and
from the landing zone (corrections, late deliveries). Its sources are every payload of the
vendor in fetch order, then every landing payload in landing order; analytics.bars.merge_sources
merges them minute by minute, a later source winning the minutes it carries (docs/landing.md,
"Merging a session's sources").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd

from fin_assets.landing.contract import LANDING_VENDOR
from fin_assets.landing.ingest import read_landing_payloads
from fin_assets.landing.raw_store import raw_partition_prefix
from fin_assets.objects.store import ObjectStore

# Decodes a vendor's stored payload into one-minute bars (the vendor adapters' decoder).
PayloadDecoder = Callable[[str, bytes], pd.DataFrame]


def partition_sources(
    store: ObjectStore, decode: PayloadDecoder, vendor: str, symbol: str, trade_date: date
) -> list[tuple[str, pd.DataFrame]]:
    """The raw bar sources of one session partition in ascending precedence, each with its source
    (the vendor or `landing`): every payload of `vendor` in fetch order (decoded by `decode`),
    then every landing payload in landing order (module docstring). ValueError when the
    partition has neither."""
    day = trade_date.isoformat()
    fetched = store.list_objects(raw_partition_prefix(vendor, symbol, day))
    landed = store.list_objects(raw_partition_prefix(LANDING_VENDOR, symbol, day))
    if not fetched and not landed:
        raise ValueError(
            f"no raw payload for {symbol} on {trade_date} under "
            f"{raw_partition_prefix(vendor, symbol, day)} or "
            f"{raw_partition_prefix(LANDING_VENDOR, symbol, day)}: "
            "materialize raw_quotes for this partition first"
        )
    vendor_bars = [(vendor, decode(vendor, store.get_object(key))) for key in fetched]
    return vendor_bars + [(LANDING_VENDOR, bars) for bars in read_landing_payloads(store, landed)]
