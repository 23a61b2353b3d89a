"""dim_symbol as a type 2 slowly changing dimension, on both engines."""

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from fin_assets.resources.warehouse import LoadRejected, SqlWarehouse
from fin_assets.universe import load_universe
from fin_assets.warehouse.model import FIRST_VALID_FROM, OPEN_VALID_TO, attributes_hash, symbol_rows
from fin_assets_tests.warehouse.rows import daily_bars

LOADED, CHANGED, LATER = date(2025, 1, 1), date(2025, 3, 3), date(2025, 6, 2)
UNIVERSE = load_universe()


def versions(warehouse: SqlWarehouse) -> pd.DataFrame:
    frame = warehouse.query("SELECT * FROM dim_symbol ORDER BY symbol_key")
    for column in ("valid_from", "valid_to"):
        frame[column] = [t.date() for t in frame[column]]
    return frame


def with_sector(symbol: str, sector: str) -> tuple:
    return tuple(replace(s, sector=sector) if s.symbol == symbol else s for s in UNIVERSE)


def test_first_load_opens_one_version_per_symbol_valid_for_all_history(
    warehouse: SqlWarehouse,
) -> None:
    outcome = warehouse.load_symbols(symbol_rows(UNIVERSE), effective=LOADED)

    stored = versions(warehouse)
    assert (outcome.opened, outcome.closed, outcome.unchanged) == (len(UNIVERSE), 0, 0)
    assert stored["symbol"].tolist() == sorted(s.symbol for s in UNIVERSE)
    assert stored["symbol_key"].tolist() == list(range(1, len(UNIVERSE) + 1))
    assert set(stored["valid_from"]) == {FIRST_VALID_FROM}
    assert set(stored["valid_to"]) == {OPEN_VALID_TO}
    assert stored["is_current"].all()
    aapl = stored[stored["symbol"] == "AAPL"].iloc[0]
    assert (aapl["sector"], aapl["yahoo_id"], aapl["coingecko_id"]) == (
        "Information Technology",
        "AAPL",
        None,
    )


def test_reloading_an_unchanged_universe_changes_nothing(warehouse: SqlWarehouse) -> None:
    warehouse.load_symbols(symbol_rows(UNIVERSE), effective=LOADED)
    before = versions(warehouse)

    outcome = warehouse.load_symbols(symbol_rows(UNIVERSE), effective=LATER)

    assert (outcome.opened, outcome.closed, outcome.unchanged) == (0, 0, len(UNIVERSE))
    pd.testing.assert_frame_equal(versions(warehouse), before)


def test_a_sector_change_closes_the_version_and_opens_a_new_one(warehouse: SqlWarehouse) -> None:
    warehouse.load_symbols(symbol_rows(UNIVERSE), effective=LOADED)
    before = versions(warehouse)

    outcome = warehouse.load_symbols(
        symbol_rows(with_sector("AAPL", "Consumer Electronics")), effective=CHANGED
    )
    again = warehouse.load_symbols(
        symbol_rows(with_sector("AAPL", "Consumer Electronics")), effective=LATER
    )

    stored = versions(warehouse)
    assert (outcome.opened, outcome.closed) == (1, 1)
    assert (again.opened, again.closed) == (0, 0)
    aapl = stored[stored["symbol"] == "AAPL"]
    old_key = int(before.loc[before["symbol"] == "AAPL", "symbol_key"].iloc[0])
    assert aapl[["symbol_key", "sector", "valid_from", "valid_to", "is_current"]].to_dict(
        "records"
    ) == [
        {
            "symbol_key": old_key,
            "sector": "Information Technology",
            "valid_from": FIRST_VALID_FROM,
            "valid_to": CHANGED,
            "is_current": False,
        },
        {
            "symbol_key": len(UNIVERSE) + 1,
            "sector": "Consumer Electronics",
            "valid_from": CHANGED,
            "valid_to": OPEN_VALID_TO,
            "is_current": True,
        },
    ]
    others = stored[stored["symbol"] != "AAPL"].reset_index(drop=True)
    pd.testing.assert_frame_equal(others, before[before["symbol"] != "AAPL"].reset_index(drop=True))


def test_facts_join_the_version_valid_on_their_trade_date(warehouse: SqlWarehouse) -> None:
    warehouse.load_symbols(symbol_rows(UNIVERSE), effective=LOADED)
    warehouse.load_symbols(
        symbol_rows(with_sector("AAPL", "Consumer Electronics")), effective=CHANGED
    )
    day_before, day_of = date(2025, 2, 28), CHANGED
    bars = daily_bars([("AAPL", day_before, 10.0), ("AAPL", day_of, 11.0)])
    warehouse.replace_range("fact_daily_bar", bars, start=day_before, end=day_of)

    sectors = warehouse.query(
        "SELECT trade_date, sector, symbols FROM mart_daily_sector_summary ORDER BY trade_date"
    )
    assert [(t.date(), s, n) for t, s, n in sectors.itertuples(index=False)] == [
        (day_before, "Information Technology", 1),
        (day_of, "Consumer Electronics", 1),
    ]


def test_a_symbol_left_out_of_the_universe_is_closed(warehouse: SqlWarehouse) -> None:
    warehouse.load_symbols(symbol_rows(UNIVERSE), effective=LOADED)

    outcome = warehouse.load_symbols(
        symbol_rows([s for s in UNIVERSE if s.symbol != "SOL"]), effective=CHANGED
    )

    sol = versions(warehouse).query("symbol == 'SOL'")
    assert (outcome.opened, outcome.closed) == (0, 1)
    assert sol[["valid_to", "is_current"]].to_dict("records") == [
        {"valid_to": CHANGED, "is_current": False}
    ]
    current = warehouse.query("SELECT symbol FROM dim_symbol_current ORDER BY symbol")
    assert "SOL" not in current["symbol"].tolist()
    assert len(current) == len(UNIVERSE) - 1


def test_backdated_or_inconsistent_loads_are_rejected(warehouse: SqlWarehouse) -> None:
    warehouse.load_symbols(symbol_rows(UNIVERSE), effective=LOADED)
    warehouse.load_symbols(symbol_rows(with_sector("AAPL", "Other")), effective=CHANGED)
    before = versions(warehouse)

    with pytest.raises(LoadRejected, match="versions start after 2025-02-01"):
        warehouse.load_symbols(symbol_rows(UNIVERSE), effective=date(2025, 2, 1))
    tampered = symbol_rows(UNIVERSE)
    tampered = tampered.set_column(
        tampered.schema.get_field_index("sector"), "sector", [["x"] * tampered.num_rows]
    )
    with pytest.raises(LoadRejected, match="attributes_hash of AAPL is not theirs"):
        warehouse.load_symbols(tampered, effective=LATER)
    doubled = symbol_rows([*UNIVERSE, UNIVERSE[0]])
    with pytest.raises(LoadRejected, match=r"symbols \['AAPL'\] appear more than once"):
        warehouse.load_symbols(doubled, effective=LATER)

    pd.testing.assert_frame_equal(versions(warehouse), before)


def test_the_hash_is_null_safe_and_separator_free() -> None:
    assert attributes_hash([None, "a"]) != attributes_hash(["", "a"])
    assert attributes_hash(["a|b", "c"]) != attributes_hash(["a", "b|c"])
    assert attributes_hash(["x", None]) == attributes_hash(["x", None])
