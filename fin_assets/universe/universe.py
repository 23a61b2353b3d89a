"""Load and validate the checked-in symbol universe."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from fin_assets.objects.keys import check_name
from fin_assets.settings import universe_file

ASSET_CLASSES = ("equity", "etf", "crypto")
VENDORS = ("alphavantage", "coingecko", "yahoo")
CHECKED_IN_UNIVERSE = Path(__file__).with_name("universe.yaml")


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
    # The partition block holding the symbol (docs/scaling.md), None in a universe without blocks.
    block: str | None = None

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
        block=entry.get("block"),
    )
    if symbol.asset_class not in ASSET_CLASSES:
        raise ValueError(f"{symbol.symbol}: unknown asset_class {symbol.asset_class!r}")
    try:
        check_name("symbol", symbol.symbol)
    except ValueError as error:
        raise ValueError(f"{error}: a symbol names its lake keys (symbol=...)") from None
    for name in (symbol.symbol, symbol.block or ""):
        if "|" in name or "," in name:
            raise ValueError(f"{name!r}: symbols and blocks may not contain '|' or ','")
    return symbol


def block_name(calendar: str, index: int) -> str:
    """The name of a calendar's `index`-th partition block: `XNYS-000`, `247-001`, ..."""
    return f"{calendar.replace('/', '')}-{index:03d}"


def assign_blocks(entries: list[dict], size: int) -> list[dict]:
    """Universe entries with a `block` each: kept where set, else appended to a block.

    Membership is append-only: an entry without a block joins the newest block of its calendar
    while that block has fewer than `size` members, else opens the calendar's next block. A
    symbol never changes block, so the partitions holding its history never move.
    """
    members: dict[str, int] = {}
    blocks_of: dict[str, list[str]] = {}
    for entry in entries:
        if entry.get("block"):
            block = entry["block"]
            members[block] = members.get(block, 0) + 1
            calendar_blocks = blocks_of.setdefault(entry["calendar"], [])
            if block not in calendar_blocks:
                calendar_blocks.append(block)
    assigned = []
    for entry in entries:
        if not entry.get("block"):
            calendar_blocks = blocks_of.setdefault(entry["calendar"], [])
            if not calendar_blocks or members[calendar_blocks[-1]] >= size:
                calendar_blocks.append(block_name(entry["calendar"], len(calendar_blocks)))
            block = calendar_blocks[-1]
            members[block] = members.get(block, 0) + 1
            entry = {**entry, "block": block}
        assigned.append(entry)
    return assigned


def _check_blocks(symbols: tuple[Symbol, ...], path: Path) -> None:
    """Blocks are all-or-none and each block's members share one trading calendar."""
    if all(s.block is None for s in symbols):
        return
    unblocked = [s.symbol for s in symbols if s.block is None]
    if unblocked:
        raise ValueError(f"{path}: every symbol needs a block when one has; missing: {unblocked}")
    calendars: dict[str, str] = {}
    for symbol in symbols:
        if calendars.setdefault(str(symbol.block), symbol.calendar) != symbol.calendar:
            raise ValueError(f"{path}: block {symbol.block} mixes calendars")


def load_universe(path: Path | None = None) -> tuple[Symbol, ...]:
    """The universe of `path` in file order (the partition order). Default: FIN_UNIVERSE_FILE
    (fin_assets.settings.universe_file; benchmarks run larger universes with it), else the
    checked-in file. The variable is read when the universe is first loaded, which
    fin_assets.shared.partitions.partition_values() does when the definitions are built (never
    at import): set it before the code location loads its definitions.

    ValueError, naming the file, the symbol and the rule, for an entry that breaks one: a
    symbol must form lake keys (letters, digits, '_', '.', '-', starting with a letter or
    digit), so a bad one is refused here rather than failing the run of its whole block."""
    return _load_universe(path or universe_file() or CHECKED_IN_UNIVERSE)


@cache
def _load_universe(path: Path) -> tuple[Symbol, ...]:
    entries = yaml.safe_load(path.read_text())["symbols"]
    try:
        symbols = tuple(_parse_symbol(entry) for entry in entries)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    names = [s.symbol for s in symbols]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"duplicate symbols in {path}: {duplicated}")
    _check_blocks(symbols, path)
    return symbols
