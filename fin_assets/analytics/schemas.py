"""Column contracts of every dataset in the lake and the warehouse.

Each schema is the exact set, order and Arrow type of the columns a layer writes. The
quality rules check frames against them; the lake writes them; the warehouse tables mirror them.
Timestamps are UTC; `trade_date` is the session date in the exchange's own calendar (the UTC
calendar date for crypto).
"""

from __future__ import annotations

import pyarrow as pa

TIMESTAMP_UTC = pa.timestamp("us", tz="UTC")

INTRADAY_BARS = pa.schema(
    [
        ("symbol", pa.string()),
        ("trade_date", pa.date32()),
        ("ts", TIMESTAMP_UTC),  # bar open time, UTC
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.float64()),
    ]
)

DAILY_BARS = pa.schema(
    [
        ("symbol", pa.string()),
        ("trade_date", pa.date32()),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume", pa.float64()),
        ("vwap", pa.float64()),
        ("bar_count", pa.int64()),
    ]
)

INDICATOR_COLUMNS = (
    "sma_20",
    "sma_50",
    "sma_200",
    "ema_12",
    "ema_26",
    "rsi_14",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "atr_14",
    "roc_10",
)

INDICATORS = pa.schema(
    [("symbol", pa.string()), ("trade_date", pa.date32()), ("close", pa.float64())]
    + [(name, pa.float64()) for name in INDICATOR_COLUMNS]
)

SIGNALS = pa.schema(
    [
        ("symbol", pa.string()),
        ("trade_date", pa.date32()),
        ("signal", pa.string()),
        ("direction", pa.int8()),  # +1 bullish, -1 bearish
        ("value", pa.float64()),  # the indicator value that fired the signal
    ]
)

RISK_METRIC_COLUMNS = (
    "return_1d",
    "log_return_1d",
    "volatility_20d",
    "volatility_60d",
    "var_95_hist",
    "var_99_hist",
    "cvar_95_hist",
    "cvar_99_hist",
    "var_95_param",
    "var_99_param",
    "cvar_95_param",
    "cvar_99_param",
)

RISK = pa.schema(
    [("symbol", pa.string()), ("trade_date", pa.date32()), ("close", pa.float64())]
    + [(name, pa.float64()) for name in RISK_METRIC_COLUMNS]
)

PORTFOLIO_RISK = pa.schema(
    [
        ("trade_date", pa.date32()),
        ("n_symbols", pa.int64()),
        ("return_1d", pa.float64()),
        ("volatility_ann", pa.float64()),
        ("var_95_hist", pa.float64()),
        ("var_99_hist", pa.float64()),
        ("cvar_95_hist", pa.float64()),
        ("cvar_99_hist", pa.float64()),
        ("var_95_param", pa.float64()),
        ("var_99_param", pa.float64()),
        ("cvar_95_param", pa.float64()),
        ("cvar_99_param", pa.float64()),
    ]
)

CORRELATION = pa.schema(
    [
        ("trade_date", pa.date32()),
        ("symbol_a", pa.string()),
        ("symbol_b", pa.string()),
        ("correlation", pa.float64()),
    ]
)

ANOMALIES = pa.schema(
    [
        ("symbol", pa.string()),
        ("trade_date", pa.date32()),
        ("anomaly", pa.string()),
        ("value", pa.float64()),  # the statistic that was flagged (NaN for calendar_gap)
        ("threshold", pa.float64()),  # the threshold it crossed (NaN for calendar_gap)
        ("detail", pa.string()),
    ]
)
