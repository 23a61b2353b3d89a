"""The market dashboard: one self-contained HTML page rendered from the warehouse's marts.

The page inlines plotly.js once (no network needed to view it) and holds:
- the risk dashboard table (`mart_risk_dashboard`);
- per symbol, four panes on one date axis: close with Bollinger bands (20, 2), SMA 50 and
  SMA 200 and the signals (`mart_signal_feed`, triangles up for bullish, down for bearish);
  RSI 14 with its 30/70 levels; MACD, its signal line and histogram; the daily return against
  minus the previous row's 95% historical VaR, exceptions marked (`mart_var_exceptions`);
- the correlation heat map of the latest date of `fact_correlation`.

A section without data says why instead of showing an empty chart or blank cells: no heat map
when `fact_correlation` is empty (the portfolio assets did not run), and "n/a" VaR figures with
the reason (fewer than VAR_WINDOW returns, or a missing return in the window) under the table.
Every figure's container has the class `market-chart` and every such note the class
`empty-note`, so a browser test can count them.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fin_assets.analytics.risk import VAR_WINDOW

Query = Callable[[str], pd.DataFrame]


PRICES_SQL = """
SELECT b.symbol, b.trade_date, b.close, i.sma_50, i.sma_200, i.bb_upper, i.bb_middle,
       i.bb_lower, i.rsi_14, i.macd, i.macd_signal, i.macd_hist
FROM fact_daily_bar b
LEFT JOIN fact_indicator i ON i.symbol = b.symbol AND i.trade_date = b.trade_date
ORDER BY b.symbol, b.trade_date
"""
SIGNALS_SQL = "SELECT symbol, trade_date, signal, direction, close FROM mart_signal_feed"
VAR_SQL = """
SELECT symbol, trade_date, return_1d, var_95_forecast, is_exception_95
FROM mart_var_exceptions ORDER BY symbol, trade_date
"""
CORRELATION_SQL = """
SELECT trade_date, symbol_a, symbol_b, correlation FROM fact_correlation
WHERE trade_date = (SELECT max(trade_date) FROM fact_correlation)
"""
RISK_SQL = """
SELECT symbol, name, sector, trade_date, volatility_20d, var_95_hist, var_99_hist,
       cvar_95_hist, backtest_days, exceptions_95, exceptions_99
FROM mart_risk_dashboard ORDER BY symbol
"""


@dataclass(frozen=True)
class DashboardData:
    """What the page shows, as read from the warehouse."""

    prices: pd.DataFrame
    signals: pd.DataFrame
    var: pd.DataFrame
    correlation: pd.DataFrame
    risk: pd.DataFrame

    @property
    def symbols(self) -> list[str]:
        return sorted(self.prices["symbol"].unique())


def read_dashboard_data(query: Query) -> DashboardData:
    """The dashboard's rows through `query` (a warehouse's query method)."""
    return DashboardData(
        prices=query(PRICES_SQL),
        signals=query(SIGNALS_SQL),
        var=query(VAR_SQL),
        correlation=query(CORRELATION_SQL),
        risk=query(RISK_SQL),
    )


def _line(frame: pd.DataFrame, column: str, name: str, **style: Any) -> go.Scatter:
    return go.Scatter(x=frame["trade_date"], y=frame[column], name=name, mode="lines", **style)


def symbol_figure(symbol: str, data: DashboardData) -> go.Figure:
    """The four panes of one symbol."""
    prices = data.prices[data.prices["symbol"] == symbol]
    signals = data.signals[data.signals["symbol"] == symbol]
    var = data.var[data.var["symbol"] == symbol]
    figure = make_subplots(
        rows=4,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        row_heights=[0.46, 0.16, 0.19, 0.19],
        subplot_titles=(
            f"{symbol}: close, Bollinger (20, 2), SMA 50/200, signals",
            "RSI 14",
            "MACD (12, 26, 9)",
            "Daily return vs −VaR 95% (previous row), exceptions",
        ),
    )
    band = {"color": "rgba(100, 120, 200, 0.5)", "width": 1}
    figure.add_trace(_line(prices, "bb_upper", "Bollinger upper", line=band), row=1, col=1)
    figure.add_trace(
        _line(
            prices,
            "bb_lower",
            "Bollinger lower",
            line=band,
            fill="tonexty",
            fillcolor="rgba(100, 120, 200, 0.1)",
        ),
        row=1,
        col=1,
    )
    figure.add_trace(_line(prices, "close", "close", line={"color": "black"}), row=1, col=1)
    figure.add_trace(_line(prices, "sma_50", "SMA 50", line={"color": "orange"}), row=1, col=1)
    figure.add_trace(_line(prices, "sma_200", "SMA 200", line={"color": "purple"}), row=1, col=1)
    for direction, marker, color in (
        ("bullish", "triangle-up", "green"),
        ("bearish", "triangle-down", "red"),
    ):
        fired = signals[signals["direction"] == direction]
        figure.add_trace(
            go.Scatter(
                x=fired["trade_date"],
                y=fired["close"],
                mode="markers",
                name=f"{direction} signal",
                text=fired["signal"],
                marker={"symbol": marker, "size": 10, "color": color},
            ),
            row=1,
            col=1,
        )
    figure.add_trace(_line(prices, "rsi_14", "RSI 14", line={"color": "teal"}), row=2, col=1)
    for level in (30, 70):
        figure.add_hline(y=level, line={"dash": "dot", "color": "grey"}, row=2, col=1)
    figure.add_trace(
        go.Bar(
            x=prices["trade_date"],
            y=prices["macd_hist"],
            name="MACD histogram",
            marker_color="grey",
        ),
        row=3,
        col=1,
    )
    figure.add_trace(_line(prices, "macd", "MACD", line={"color": "blue"}), row=3, col=1)
    figure.add_trace(
        _line(prices, "macd_signal", "MACD signal", line={"color": "red"}), row=3, col=1
    )
    figure.add_trace(
        go.Scatter(
            x=var["trade_date"],
            y=var["return_1d"],
            mode="markers",
            name="daily return",
            marker={"size": 3, "color": "grey"},
        ),
        row=4,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=var["trade_date"],
            y=-var["var_95_forecast"],
            mode="lines",
            name="−VaR 95%",
            line={"color": "darkred"},
        ),
        row=4,
        col=1,
    )
    exceptions = var[var["is_exception_95"].fillna(False).astype(bool)]
    figure.add_trace(
        go.Scatter(
            x=exceptions["trade_date"],
            y=exceptions["return_1d"],
            mode="markers",
            name="VaR exception",
            marker={"symbol": "x", "size": 9, "color": "red"},
        ),
        row=4,
        col=1,
    )
    figure.update_layout(height=900, margin={"t": 40, "b": 30}, legend={"orientation": "h"})
    return figure


def correlation_figure(correlation: pd.DataFrame) -> go.Figure:
    """Heat map of the correlation matrix of one date (`correlation` must hold rows)."""
    matrix = correlation.pivot(index="symbol_a", columns="symbol_b", values="correlation")
    day = pd.Timestamp(correlation["trade_date"].iloc[0]).date()
    figure = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(),
            x=list(matrix.columns),
            y=list(matrix.index),
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
        )
    )
    figure.update_layout(title=f"Correlation of daily returns on {day}", height=600)
    return figure


def _note(text: str) -> str:
    return f'<p class="empty-note">{html.escape(text)}</p>'


def var_gaps(data: DashboardData) -> dict[str, str]:
    """Why each symbol of the risk table without a VaR on its date has none, by symbol.

    VaR needs the VAR_WINDOW returns up to the date, all present: a symbol with fewer returns
    in `fact_risk` up to that date lacks history; one with enough has a missing return in the
    window (a gap in its closes).
    """
    reasons: dict[str, str] = {}
    for row in data.risk.itertuples(index=False):
        if not pd.isna(row.var_95_hist):
            continue
        day = pd.Timestamp(row.trade_date)
        mine = data.var[data.var["symbol"] == row.symbol]
        returns = int(mine.loc[pd.to_datetime(mine["trade_date"]) <= day, "return_1d"].count())
        if returns < VAR_WINDOW:
            reasons[row.symbol] = (
                f"VaR needs {VAR_WINDOW} daily returns; fact_risk holds {returns} up to "
                f"{day.date()}"
            )
        else:
            reasons[row.symbol] = (
                f"a return is missing among the last {VAR_WINDOW} up to {day.date()} "
                "(a gap in the closes)"
            )
    return reasons


def _risk_section(data: DashboardData) -> str:
    if data.risk.empty:
        return _note("No risk figures: fact_risk is empty (risk_metrics has not been loaded).")
    shown = data.risk.copy()
    shown["trade_date"] = pd.to_datetime(shown["trade_date"]).dt.date
    gaps = var_gaps(data)
    table = shown.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="n/a", border=0)
    notes = "".join(_note(f"{symbol}: no VaR ({reason}).") for symbol, reason in gaps.items())
    return table + notes


def _correlation_section(correlation: pd.DataFrame) -> str:
    """The heat map (plotly.js is already inlined in the first symbol's chart), or why not."""
    if correlation.empty:
        return _note(
            "No correlation heat map: fact_correlation is empty (portfolio_job, which computes "
            "portfolio_risk and correlation_matrix and loads them, has not run)."
        )
    return _chart(correlation_figure(correlation), include_plotlyjs=False)


def _chart(figure: go.Figure, include_plotlyjs: bool) -> str:
    body = figure.to_html(full_html=False, include_plotlyjs=include_plotlyjs)
    return f'<div class="market-chart">{body}</div>'


def render_dashboard(data: DashboardData, title: str) -> str:
    """The whole page as HTML text (plotly.js inlined once, in the first chart)."""
    if data.prices.empty:
        raise ValueError("the warehouse holds no daily bars: nothing to report")
    figures: Sequence[go.Figure] = [symbol_figure(symbol, data) for symbol in data.symbols]
    charts = "\n".join(_chart(f, include_plotlyjs=i == 0) for i, f in enumerate(figures))
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:1em 2em}"
        "table{border-collapse:collapse}td,th{padding:2px 8px;text-align:right}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>"
        f"<h2>Risk dashboard</h2>{_risk_section(data)}"
        f"<h2>Symbols</h2>{charts}"
        f"<h2>Correlations</h2>{_correlation_section(data.correlation)}"
        "</body></html>"
    )
