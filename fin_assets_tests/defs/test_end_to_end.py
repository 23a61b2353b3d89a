"""Materialize a small range through the real Definitions on a real instance, twice."""

from datetime import date

import numpy as np
import pandas as pd
import pytest
import talib
from dagster import AssetKey
from rich.progress import Progress

from fin_assets.analytics.schemas import INDICATORS
from fin_assets.analytics.simulator import simulate_intraday
from fin_assets.definitions import build_definitions
from fin_assets.instance import open_instance
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.runner import check_outcomes, plan_runs, run_stages
from fin_assets.settings import Settings
from fin_assets.universe import load_universe

# One worker runs the whole module, so the module's materialization happens once.
pytestmark = pytest.mark.xdist_group("end_to_end")

START, END = date(2025, 1, 1), date(2025, 2, 14)
FACT_KEYS = {
    "fact_daily_bar": ["symbol", "trade_date"],
    "fact_indicator": ["symbol", "trade_date"],
    "fact_signal": ["symbol", "trade_date", "signal"],
    "fact_risk": ["symbol", "trade_date"],
    "fact_portfolio_risk": ["trade_date"],
    "fact_correlation": ["trade_date", "symbol_a", "symbol_b"],
}


def materialize(settings: Settings, start: date, end: date, symbols: list[str]) -> None:
    """Run the graph as the CLI does (two concurrent history runs); no ERROR check may fail."""
    with Progress(disable=True) as progress:
        outcomes = run_stages(settings, plan_runs(start, end, symbols, 2), progress).runs
    instance = open_instance(settings)
    assert [o.request.job_name for o in outcomes] == [
        "reference_job",
        "symbol_history_job",
        "symbol_history_job",
        "portfolio_job",
    ]
    for outcome in outcomes:
        assert outcome.success, outcome
        failed = [
            c
            for c in check_outcomes(instance, outcome.run_id)
            if not c.passed and c.blocking_severity
        ]
        assert failed == [], failed


def table(warehouse: DuckDBWarehouse, name: str) -> pd.DataFrame:
    keys = FACT_KEYS.get(name, [])
    order = f" ORDER BY {', '.join(keys)}" if keys else ""
    return warehouse.query(f"SELECT * FROM {name}{order}")


@pytest.fixture(scope="module")
def loaded(module_fin_settings: Settings) -> tuple[Settings, DuckDBWarehouse]:
    """The whole graph materialized once for START..END over the universe."""
    symbols = [s.symbol for s in load_universe()]
    materialize(module_fin_settings, START, END, symbols)
    return module_fin_settings, DuckDBWarehouse(str(module_fin_settings.warehouse_path))


def test_daily_bars_in_the_warehouse_match_the_simulated_minutes(loaded) -> None:
    _, warehouse = loaded
    bars = table(warehouse, "fact_daily_bar")
    aapl = next(s for s in load_universe() if s.symbol == "AAPL")
    minutes = simulate_intraday(42, aapl, date(2025, 1, 2))
    row = bars[(bars["symbol"] == "AAPL") & (bars["trade_date"] == pd.Timestamp("2025-01-02"))]
    assert len(row) == 1
    assert row["open"].iloc[0] == minutes["open"].iloc[0]
    assert row["high"].iloc[0] == minutes["high"].max()
    assert row["low"].iloc[0] == minutes["low"].min()
    assert row["close"].iloc[0] == minutes["close"].iloc[-1]
    assert row["volume"].iloc[0] == pytest.approx(minutes["volume"].sum(), rel=1e-12)


def test_sessions_weekends_and_holidays(loaded) -> None:
    _, warehouse = loaded
    counts = warehouse.query(
        "SELECT symbol, count(*) AS n FROM fact_daily_bar GROUP BY symbol"
    ).set_index("symbol")["n"]
    days = (END - START).days + 1
    assert counts["BTC"] == days
    # XNYS sessions from 2025-01-01 to 2025-02-14: New Year's Day, the Carter day of mourning
    # (2025-01-09) and MLK day (2025-01-20) are closed.
    weekdays = np.busday_count(START, END + pd.Timedelta(days=1).to_pytimedelta())
    assert counts["AAPL"] == weekdays - 3


def test_indicator_matches_an_independent_sma(loaded) -> None:
    _, warehouse = loaded
    bars = table(warehouse, "fact_daily_bar")
    indicators = table(warehouse, "fact_indicator")
    btc_close = bars[bars["symbol"] == "BTC"]["close"].to_numpy()
    btc = indicators[indicators["symbol"] == "BTC"]
    assert btc["sma_20"].iloc[18] != btc["sma_20"].iloc[18]  # NaN warm-up
    assert btc["sma_20"].iloc[-1] == pytest.approx(btc_close[-20:].mean(), rel=1e-12)


def test_single_partitions_out_of_order_equal_talib_over_the_whole_history(loaded) -> None:
    settings, warehouse = loaded
    job = build_definitions(settings).resolve_job_def("symbol_history_job")
    instance = open_instance(settings)
    partitions = [
        ("BTC", date(2025, 2, 10)),
        ("BTC", date(2025, 1, 25)),
        ("AAPL", date(2025, 2, 12)),
    ]
    for symbol, day in partitions:
        result = job.execute_in_process(
            instance=instance,
            partition_key=f"{day}|{symbol}",
            asset_selection=[AssetKey("technical_indicators")],
        )
        assert result.success
    lake = ParquetLake(settings.lake_root)
    bars = table(warehouse, "fact_daily_bar")
    for symbol, day in partitions:
        stored = lake.read_partitions("technical_indicators", INDICATORS, [day], symbol)
        row = stored.to_pandas().iloc[0]
        history = bars[(bars["symbol"] == symbol) & (bars["trade_date"] <= pd.Timestamp(day))]
        close = history["close"].to_numpy()
        macd, macd_signal, _ = talib.MACD(close)
        upper, _, lower = talib.BBANDS(close)
        expected = [
            talib.SMA(close, 20)[-1],
            talib.EMA(close, 12)[-1],
            talib.EMA(close, 26)[-1],
            talib.RSI(close, 14)[-1],
            macd[-1],
            macd_signal[-1],
            upper[-1],
            lower[-1],
        ]
        got = row[
            ["sma_20", "ema_12", "ema_26", "rsi_14", "macd", "macd_signal", "bb_upper", "bb_lower"]
        ]
        np.testing.assert_allclose(got.to_numpy(dtype=float), expected, rtol=1e-9)


def test_rerunning_and_overlapping_ranges_keep_one_row_per_key(loaded) -> None:
    settings, warehouse = loaded
    before = {name: table(warehouse, name) for name in FACT_KEYS}
    materialize(settings, START, END, [s.symbol for s in load_universe()])
    materialize(settings, date(2025, 1, 20), END, ["ETH", "SOL"])
    for name, keys in FACT_KEYS.items():
        after = table(warehouse, name)
        assert not after.duplicated(keys).any(), name
        pd.testing.assert_frame_equal(after, before[name], check_exact=True, obj=name)


def test_portfolio_weights_are_configurable(loaded) -> None:
    settings, warehouse = loaded
    job = build_definitions(settings).resolve_job_def("portfolio_job")
    weights = {"AAPL": 0.25, "BTC": 0.75}
    result = job.execute_in_process(
        instance=open_instance(settings),
        tags={
            "dagster/asset_partition_range_start": "2025-02-03",
            "dagster/asset_partition_range_end": "2025-02-14",
        },
        run_config={"ops": {"portfolio_risk": {"config": {"weights": weights}}}},
    )
    assert result.success
    bars = table(warehouse, "fact_daily_bar").set_index(["symbol", "trade_date"])["close"]
    portfolio = table(warehouse, "fact_portfolio_risk").set_index("trade_date")
    # 2025-02-10 (Monday) follows the session of Friday 2025-02-07: BTC's weekend move is in it.
    today, before = pd.Timestamp("2025-02-10"), pd.Timestamp("2025-02-07")
    expected = sum(w * (bars[(s, today)] / bars[(s, before)] - 1) for s, w in weights.items())
    assert portfolio.loc[today, "return_1d"] == pytest.approx(expected, rel=1e-12)
    assert portfolio.loc[today, "n_symbols"] == 10


def test_a_run_loads_signal_and_risk_rows_before_its_other_ready_steps(loaded) -> None:
    settings, _ = loaded
    job = build_definitions(settings).resolve_job_def("symbol_history_job")
    result = job.execute_in_process(
        instance=open_instance(settings), partition_key="2025-02-14|AAPL"
    )
    assert result.success
    started = [
        event.step_key for event in result.all_events if event.event_type_value == "STEP_START"
    ]
    signal_path = [
        "technical_indicators",
        "trading_signals",
        "fact_signal",
        "risk_metrics",
        "fact_risk",
        "fact_daily_bar",  # the signal and risk loads record its bars' watermark
    ]
    others = ["anomalies", "fact_intraday_bar", "fact_indicator"]
    assert max(started.index(step) for step in signal_path) < min(
        started.index(step) for step in others
    ), started
