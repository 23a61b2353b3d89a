"""Load and validate the checked-in symbol universe."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

ASSET_CLASSES = ("equity", "etf", "crypto")
VENDORS = ("alphavantage", "coingecko", "yahoo")
# FIN_UNIVERSE_FILE replaces the checked-in universe (benchmarks run larger universes with it);
# it is read once, at import, because it defines the `symbol` partition dimension.
UNIVERSE_FILE = Path(
    os.environ.get("FIN_UNIVERSE_FILE", Path(__file__).with_name("universe.yaml"))
).resolve()


@dataclass(frozen=True)
class Symbol:
    """One tradable instrument of the universe."""

    symbol: str
    name: str
    asset_class: str
    exchange: str
    calendar: str
    currency: str
    timezone: str
    sector: str
    vendor_ids: dict[str, str | None]

    @property
    def is_crypto(self) -> bool:
        return self.asset_class == "crypto"

    @property
    def periods_per_year(self) -> int:
        """Return periods a year, for annualizing: 365 for crypto (24/7), 252 for exchanges."""
        return 365 if self.calendar == "24/7" else 252


def _parse_symbol(entry: dict) -> Symbol:
    symbol = Symbol(
        symbol=entry["symbol"],
        name=entry["name"],
        asset_class=entry["asset_class"],
        exchange=entry["exchange"],
        calendar=entry["calendar"],
        currency=entry["currency"],
        timezone=entry["timezone"],
        sector=entry["sector"],
        vendor_ids={vendor: entry["vendor_ids"].get(vendor) for vendor in VENDORS},
    )
    if symbol.asset_class not in ASSET_CLASSES:
        raise ValueError(f"{symbol.symbol}: unknown asset_class {symbol.asset_class!r}")
    if "|" in symbol.symbol or "," in symbol.symbol:
        raise ValueError(f"{symbol.symbol!r}: symbols may not contain '|' or ','")
    return symbol


@cache
def load_universe(path: Path = UNIVERSE_FILE) -> tuple[Symbol, ...]:
    """The universe in file order (the order of the `symbol` partition dimension)."""
    entries = yaml.safe_load(path.read_text())["symbols"]
    symbols = tuple(_parse_symbol(entry) for entry in entries)
    names = [s.symbol for s in symbols]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"duplicate symbols in {path}: {duplicated}")
    return symbols
