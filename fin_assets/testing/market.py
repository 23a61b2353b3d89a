"""A small seeded market loaded into a warehouse through the real analytics functions."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from fin_assets.analytics.indicators import compute_indicators
from fin_assets.analytics.risk import compute_portfolio_risk, compute_risk_metrics
from fin_assets.analytics.signals import compute_signals
from fin_assets.resources.warehouse import SqlWarehouse
from fin_assets.universe import load_universe
from fin_assets.warehouse.model import symbol_rows, with_session_completeness

START = date(2025, 1, 1)
SYMBOLS = ("AAPL", "BTC", "JPM")


def daily_market(days: int, seed: int = 7) -> pd.DataFrame:
    """DAILY_BARS of SYMBOLS for `days` calendar days: a seeded geometric random walk."""
    rng = np.random.default_rng(seed)
    dates = [START + timedelta(days=i) for i in range(days)]
    frames = []
    for symbol in SYMBOLS:
        close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, days)))
        open_ = close * np.exp(rng.normal(0.0, 0.005, days))
        frames.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "trade_date": dates,
                    "open": open_,
                    "high": np.maximum(open_, close) * 1.01,
                    "low": np.minimum(open_, close) * 0.99,
                    "close": close,
                    "volume": rng.uniform(1e5, 2e5, days),
                    "vwap": close,
                    "bar_count": 390,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def load_market(warehouse: SqlWarehouse, days: int) -> dict[str, pd.DataFrame]:
    """Load dimensions and facts of `daily_market(days)`; returns the frames loaded."""
    bars = daily_market(days)
    indicators = compute_indicators(bars)
    frames = {
        "fact_daily_bar": bars,
        "fact_indicator": indicators,
        "fact_signal": compute_signals(indicators),
        "fact_risk": compute_risk_metrics(bars, dict.fromkeys(SYMBOLS, 252)),
    }
    closes = bars.pivot(index="trade_date", columns="symbol", values="close")
    portfolio, correlation = compute_portfolio_risk(closes, dict.fromkeys(SYMBOLS, 1 / 3))
    frames |= {"fact_portfolio_risk": portfolio, "fact_correlation": correlation}
    warehouse.load_symbols(symbol_rows(load_universe()), effective=START)
    end = START + timedelta(days=days - 1)
    calendars = {s.symbol: s.calendar for s in load_universe()}
    for table, frame in frames.items():
        rows = pa.Table.from_pandas(frame, preserve_index=False)
        if table == "fact_daily_bar":
            rows = with_session_completeness(rows, calendars)
        warehouse.replace_range(table, rows, start=START, end=end)
    return frames
