"""Market-data sources: the interface every vendor connector implements, and the synthetic one.

A source turns (symbol, trade date) into a RawPayload: the vendor's response body exactly as
received plus its lineage (vendor, endpoint, request parameters without secrets). The raw layer
stores the bytes unchanged; the bars layer decodes them with the decoder registered for that
vendor in PAYLOAD_DECODERS.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field

from fin_assets.analytics import simulator
from fin_assets.analytics.market_calendar import is_session
from fin_assets.analytics.ohlc_policy import DEFAULT_OHLC_POLICY, check_policy
from fin_assets.landing.raw_store import RawPayload, raw_partition_prefix
from fin_assets.objects.store import ObjectStore
from fin_assets.resources.vendors import alphavantage, coingecko, yahoo
from fin_assets.universe import Symbol

# The Dagster concurrency pool of the raw_quotes fetch steps that make no vendor call: the
# synthetic market and replays of recorded answers (each vendor has its own pool, see
# fin_assets.resources.vendors.routing.VENDOR_POOLS).
OFFLINE_POOL = "vendor_offline"


class MarketDataResource(ConfigurableResource):
    """What the raw layer needs from a vendor connector; every source subclasses it.

    `ohlc_policies` maps a source (a vendor name, or `landing` for landing files) to its OHLC
    policy, `repair` (the default for every source) or `reject` (analytics/ohlc_policy.py).
    """

    ohlc_policies: dict[str, str] = Field(default_factory=dict)

    def ohlc_policy_for(self, source: str) -> str:
        """The OHLC policy of bars from `source` (ValueError for an unknown policy)."""
        return check_policy(self.ohlc_policies.get(source, DEFAULT_OHLC_POLICY))

    @property
    def vendor(self) -> str:
        raise NotImplementedError

    def vendor_for(self, symbol: Symbol) -> str:
        """The vendor whose payloads hold `symbol` (the raw layer's folder; the decoder's key).

        A single-vendor source answers `vendor`; the vendors source routes by asset class.
        """
        del symbol
        return self.vendor

    def pool_for(self, symbol: Symbol) -> str:
        """The Dagster concurrency pool whose slot a fetch of `symbol` takes (raw_quotes runs
        each pool's symbols in a step of its own). A source without vendor calls answers
        OFFLINE_POOL.
        """
        del symbol
        return OFFLINE_POOL

    @property
    def reuses_stored_payloads(self) -> bool:
        """True when a partition that already has a payload must not be fetched again.

        Sources with call quotas say True, so a re-run of a range only pays for what is missing.
        """
        return False

    def fetch_intraday(self, symbol: Symbol, trade_date: date) -> RawPayload | None:
        """One-minute bars of a session, or None when the symbol has no session that day."""
        raise NotImplementedError


# Vendors whose intraday payloads hold prices only: their bars carry volume 0, which means
# "not published", not "nothing traded" (CoinGecko's total_volumes is a rolling 24-hour sum,
# see fin_assets.resources.vendors.coingecko). raw_quotes lists the symbols they serve in its
# `volume_unavailable` metadata.
NO_INTERVAL_VOLUME_VENDORS = frozenset({coingecko.VENDOR})

PAYLOAD_DECODERS: dict[str, Callable[[bytes], pd.DataFrame]] = {
    "synthetic": simulator.decode_payload,
    alphavantage.VENDOR: alphavantage.decode_intraday,
    coingecko.VENDOR: coingecko.market_chart_bars,
    yahoo.VENDOR: yahoo.parse_chart_intraday,
}


def decode_payload(vendor: str, content: bytes) -> pd.DataFrame:
    """Decode a stored payload of `vendor` into bars (ts UTC, open, high, low, close, volume)."""
    try:
        decoder = PAYLOAD_DECODERS[vendor]
    except KeyError:
        raise ValueError(f"no payload decoder for vendor {vendor!r}") from None
    return decoder(content)


class SyntheticMarketSource(MarketDataResource):
    """The offline default source: the deterministic synthetic market of analytics.simulator."""

    seed: int = 42

    @property
    def vendor(self) -> str:
        return "synthetic"

    def fetch_intraday(self, symbol: Symbol, trade_date: date) -> RawPayload | None:
        if not is_session(symbol.calendar, trade_date):
            return None
        bars = simulator.simulate_intraday(self.seed, symbol, trade_date)
        return RawPayload(
            vendor=self.vendor,
            endpoint="simulate_intraday",
            params={
                "symbol": symbol.symbol,
                "trade_date": trade_date.isoformat(),
                "seed": str(self.seed),
                "interval": "1min",
            },
            content=simulator.encode_payload(self.seed, symbol, trade_date, bars),
        )


def stored_bar_count(store: ObjectStore, vendor: str, symbol: str, trade_date: str) -> int | None:
    """Bars in the partition's newest payload of `vendor` (decoded), None when it has none.

    0 is "no data": the vendor answered without a bar for a session, which a later pull asks
    again (fin_assets.defs.ingest.raw_quotes, fin_assets.defs.operations.schedules).
    """
    keys = store.list_objects(raw_partition_prefix(vendor, symbol, trade_date))
    if not keys:
        return None
    return len(decode_payload(vendor, store.get_object(keys[-1])))
