"""Market-data sources: the interface every vendor connector implements, and the synthetic one.

A source turns (symbol, trade date) into a RawPayload: the vendor's response body exactly as
received plus its lineage (vendor, endpoint, request parameters without secrets). The raw layer
stores the bytes unchanged; the bars layer decodes them with the decoder registered for that
vendor in PAYLOAD_DECODERS.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd
from dagster import ConfigurableResource

from fin_assets.analytics import simulator
from fin_assets.analytics.market_calendar import is_session
from fin_assets.universe import Symbol


@dataclass(frozen=True)
class RawPayload:
    """One vendor response for one symbol and trade date, as received."""

    vendor: str
    endpoint: str
    params: Mapping[str, str]
    content: bytes
    media_type: str = "application/json"
    extension: str = "json"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


class MarketDataResource(ConfigurableResource):
    """What the raw layer needs from a vendor connector; every source subclasses it."""

    @property
    def vendor(self) -> str:
        raise NotImplementedError

    def fetch_intraday(self, symbol: Symbol, trade_date: date) -> RawPayload | None:
        """One-minute bars of a session, or None when the symbol has no session that day."""
        raise NotImplementedError


PAYLOAD_DECODERS: dict[str, Callable[[bytes], pd.DataFrame]] = {
    "synthetic": simulator.decode_payload,
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
