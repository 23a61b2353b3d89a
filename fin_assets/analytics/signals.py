"""Trading signals: crossings of indicator lines between consecutive rows of one symbol.

A signal fires on the row where a line crosses a level between the previous row of the same
symbol (in trade_date order) and this row. Crossing above: previous line <= previous level and
line > level now. Crossing below: previous line >= previous level and line < level now. The
first row of a symbol never fires, and a NaN on either row never fires (NaN comparisons are
false). The signal's value is the line's value on the firing row.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from fin_assets.analytics.schemas import SIGNALS

KEY_COLUMNS = ("symbol", "trade_date")


@dataclass(frozen=True)
class Crossing:
    """Signal `signal` with `direction` (+1 bullish, -1 bearish) fired by `line` crossing `level`.

    `level` is another indicator column or a constant; `upward` says the crossing is from below
    (True) or from above (False).
    """

    signal: str
    direction: int
    line: str
    level: str | float
    upward: bool


CROSSINGS = (
    Crossing("golden_cross", 1, "sma_50", "sma_200", upward=True),
    Crossing("death_cross", -1, "sma_50", "sma_200", upward=False),
    Crossing("rsi_overbought", -1, "rsi_14", 70.0, upward=True),
    Crossing("rsi_oversold", 1, "rsi_14", 30.0, upward=False),
    Crossing("macd_bullish_cross", 1, "macd", "macd_signal", upward=True),
    Crossing("macd_bearish_cross", -1, "macd", "macd_signal", upward=False),
    Crossing("bb_upper_breakout", 1, "close", "bb_upper", upward=True),
    Crossing("bb_lower_breakout", -1, "close", "bb_lower", upward=False),
    Crossing("momentum_up", 1, "roc_10", 0.0, upward=True),
    Crossing("momentum_down", -1, "roc_10", 0.0, upward=False),
)
SIGNAL_NAMES = tuple(crossing.signal for crossing in CROSSINGS)
LINE_COLUMNS = tuple(
    dict.fromkeys(
        column
        for crossing in CROSSINGS
        for column in (crossing.line, crossing.level)
        if isinstance(column, str)
    )
)


def compute_signals(indicators: pd.DataFrame) -> pd.DataFrame:
    """Every crossing of `CROSSINGS` in `indicators`, in long format.

    `indicators` is compute_indicators output (symbol, trade_date and the columns the crossings
    use), any row order, one or many symbols. Returns one row per fired signal with columns
    exactly `SIGNALS.names`: signal is a name of `SIGNAL_NAMES`, direction int8 (+1 bullish,
    -1 bearish), value float64 (the crossing line's value on the firing row), sorted by
    (symbol, trade_date, signal), index reset. Raises ValueError on a missing column or a
    duplicate (symbol, trade_date).
    """
    missing = [name for name in (*KEY_COLUMNS, *LINE_COLUMNS) if name not in indicators.columns]
    if missing:
        raise ValueError(f"indicators is missing columns {missing}")
    duplicated = indicators.duplicated(list(KEY_COLUMNS), keep=False)
    if duplicated.any():
        symbols = sorted(indicators.loc[duplicated, "symbol"].unique())
        raise ValueError(f"indicators has duplicate trade_date rows for symbols {symbols}")

    current = indicators.sort_values(list(KEY_COLUMNS), kind="stable").reset_index(drop=True)
    lines = current[list(LINE_COLUMNS)].astype("float64")
    previous = lines.groupby(current["symbol"], sort=False).shift(1)
    fired = [_fired(crossing, current, lines, previous) for crossing in CROSSINGS]
    signals = pd.concat(fired, ignore_index=True)
    signals = signals.sort_values(["symbol", "trade_date", "signal"], kind="stable")
    empty = SIGNALS.empty_table().to_pandas()
    return signals.reset_index(drop=True)[SIGNALS.names].astype(empty.dtypes.to_dict())


def _fired(
    crossing: Crossing, current: pd.DataFrame, lines: pd.DataFrame, previous: pd.DataFrame
) -> pd.DataFrame:
    """Rows of `current` where `crossing` fires, as SIGNALS columns."""
    line_now, line_before = lines[crossing.line], previous[crossing.line]
    if isinstance(crossing.level, str):
        level_now, level_before = lines[crossing.level], previous[crossing.level]
    else:
        level_now = level_before = crossing.level
    if crossing.upward:
        fires = (line_before <= level_before) & (line_now > level_now)
    else:
        fires = (line_before >= level_before) & (line_now < level_now)
    return pd.DataFrame(
        {
            "symbol": current.loc[fires, "symbol"],
            "trade_date": current.loc[fires, "trade_date"],
            "signal": crossing.signal,
            "direction": crossing.direction,
            "value": line_now[fires],
        }
    )
