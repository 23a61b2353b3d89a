"""The checked-in symbol universe (see universe.yaml)."""

from fin_assets.universe.universe import ASSET_CLASSES, Symbol, load_universe

__all__ = ["ASSET_CLASSES", "Symbol", "load_universe"]
