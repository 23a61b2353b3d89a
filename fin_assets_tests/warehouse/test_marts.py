"""The BI views against independent pandas computations, on both engines."""

from typing import Any

import numpy as np
import pandas as pd
import pytest

from fin_assets.analytics.risk import backtest_var
from fin_assets.resources.warehouse import SqlWarehouse
from fin_assets.testing.market import load_market
from fin_assets.universe import load_universe
from fin_assets_tests.warehouse.conftest import new_warehouse

DAYS = 300


@pytest.fixture(scope="module", params=["duckdb", "snowflake"])
def market(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fakesnow_server: dict[str, Any],
) -> tuple[SqlWarehouse, dict[str, pd.DataFrame]]:
    """One loaded market per engine, shared by the module's read-only tests."""
    warehouse = new_warehouse(request.param, tmp_path_factory.mktemp("marts"), fakesnow_server)
    return warehouse, load_market(warehouse, DAYS)


def by_date(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    return frame


def test_risk_dashboard_exceptions_equal_the_python_backtest(market) -> None:
    warehouse, frames = market
    dashboard = warehouse.query("SELECT * FROM mart_risk_dashboard ORDER BY symbol")
    risk = frames["fact_risk"]

    for label, confidence in (("95", 0.95), ("99", 0.99)):
        expected = backtest_var(risk, f"var_{label}_hist", confidence, window=250)
        assert (
            dashboard[f"exceptions_{label}"].astype(int).tolist() == expected["exceptions"].tolist()
        )
        assert dashboard["backtest_days"].astype(int).tolist() == expected["observations"].tolist()
    latest = risk.groupby("symbol").tail(1).sort_values("symbol")
    np.testing.assert_allclose(dashboard["var_99_hist"], latest["var_99_hist"], rtol=1e-12)
    sectors = {s.symbol: s.sector for s in load_universe()}
    assert dashboard["sector"].tolist() == [sectors[s] for s in dashboard["symbol"]]
    assert dashboard["symbol"].tolist() == ["AAPL", "BTC", "JPM"]


def test_top_movers_rank_absolute_returns(market) -> None:
    warehouse, frames = market
    movers = by_date(warehouse.query("SELECT * FROM mart_top_movers"))
    risk = by_date(frames["fact_risk"]).dropna(subset=["return_1d"])
    risk["move"] = risk["return_1d"].abs()
    expected = risk.sort_values(["trade_date", "move"], ascending=[True, False])
    expected["rank"] = expected.groupby("trade_date").cumcount() + 1

    got = movers.sort_values(["trade_date", "move_rank"])
    assert got["symbol"].tolist() == expected["symbol"].tolist()
    assert got["move_rank"].astype(int).tolist() == expected["rank"].tolist()


def test_daily_summary_counts_advancers_and_decliners(market) -> None:
    warehouse, frames = market
    summary = by_date(
        warehouse.query("SELECT * FROM mart_daily_market_summary ORDER BY trade_date")
    ).set_index("trade_date")
    risk = by_date(frames["fact_risk"])
    grouped = risk.groupby("trade_date")["return_1d"]

    expected_advancers = grouped.apply(lambda r: int((r > 0).sum()))
    expected_symbols = grouped.count()
    assert summary["advancers"].astype(int).to_dict() == expected_advancers.to_dict()
    assert summary["symbols"].astype(int).to_dict() == expected_symbols.to_dict()
    np.testing.assert_allclose(
        summary["avg_return_1d"].dropna(), grouped.mean().dropna(), rtol=1e-12
    )


def test_signal_feed_lists_every_signal_with_its_close(market) -> None:
    warehouse, frames = market
    feed = by_date(warehouse.query("SELECT * FROM mart_signal_feed ORDER BY symbol, trade_date"))
    signals = by_date(frames["fact_signal"])
    bars = by_date(frames["fact_daily_bar"])

    expected = signals.merge(bars[["symbol", "trade_date", "close"]], on=["symbol", "trade_date"])
    expected = expected.sort_values(["symbol", "trade_date", "signal"])
    got = feed.sort_values(["symbol", "trade_date", "signal"])
    assert len(got) == len(signals) > 0
    assert got["signal"].tolist() == expected["signal"].tolist()
    assert got["direction"].tolist() == [
        "bullish" if d > 0 else "bearish" for d in expected["direction"]
    ]
    np.testing.assert_allclose(got["close"], expected["close"], rtol=1e-12)
