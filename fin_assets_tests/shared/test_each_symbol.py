"""each_symbol: the symbols' calls overlap, the results and the raised error keep their order."""

import threading

import pytest

from fin_assets.shared.lake_io import LAKE_THREADS, each_symbol


def test_results_come_in_the_symbols_order_from_calls_that_overlap() -> None:
    symbols = [f"S{n}" for n in range(LAKE_THREADS)]
    # Every call waits until all of them have started: they can only end if they overlap.
    all_started = threading.Barrier(len(symbols), timeout=10)

    def work(symbol: str) -> str:
        all_started.wait()
        return symbol.lower()

    assert each_symbol(symbols, work) == [symbol.lower() for symbol in symbols]


def test_the_first_symbols_error_is_raised_after_every_call_ended() -> None:
    ended: list[str] = []

    def work(symbol: str) -> str:
        ended.append(symbol)
        if symbol in ("B", "C"):
            raise ValueError(symbol)
        return symbol

    with pytest.raises(ValueError, match=r"^B$"):
        each_symbol(["A", "B", "C", "D"], work)
    assert sorted(ended) == ["A", "B", "C", "D"]
