"""The universe file is checked when it loads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fin_assets.universe import load_universe
from fin_assets.universe.universe import CHECKED_IN_UNIVERSE


def universe_with(tmp_path: Path, symbol: str) -> Path:
    """The checked-in universe with `symbol` appended (a copy of AAPL's entry)."""
    entries = yaml.safe_load(CHECKED_IN_UNIVERSE.read_text())["symbols"]
    path = tmp_path / "universe.yaml"
    path.write_text(yaml.safe_dump({"symbols": [*entries, {**entries[0], "symbol": symbol}]}))
    return path


@pytest.mark.parametrize("symbol", ["BRK/B", "BRK B", ".HIDDEN", "_tmpX", "../X", ""])
def test_a_symbol_that_cannot_form_a_lake_key_is_refused_at_load(
    tmp_path: Path, symbol: str
) -> None:
    path = universe_with(tmp_path, symbol)
    with pytest.raises(ValueError) as caught:
        load_universe(path)
    assert str(caught.value) == (
        f"{path}: invalid symbol {symbol!r}: use letters, digits, '_', '.', '-': "
        "a symbol names its lake keys (symbol=...)"
    )


def test_the_checked_in_universe_and_plain_symbols_load(tmp_path: Path) -> None:
    assert [s.symbol for s in load_universe(universe_with(tmp_path, "BRK.B-1_X"))][-1] == (
        "BRK.B-1_X"
    )
    assert len(load_universe(CHECKED_IN_UNIVERSE)) == 10
