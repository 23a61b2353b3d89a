"""`fin-assets ingest-landing` carries a correction through its look-back dependents.

Issue 16 item 6: after ingest-landing (no daemon), the returns, VaR and indicators of the days
after a corrected day stayed computed from the old close. Here every later row of the warehouse
must equal a recomputation from the warehouse's own daily bars.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from fin_assets.analytics.indicators import compute_indicators
from fin_assets.analytics.risk import compute_risk_metrics
from fin_assets.analytics.schemas import INDICATOR_COLUMNS, RISK_METRIC_COLUMNS
from fin_assets.analytics.signals import compute_signals
from fin_assets.analytics.simulator import simulate_intraday
from fin_assets.cli import main
from fin_assets.definitions import build_definitions
from fin_assets.instance import open_instance
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.runner import RunRequest
from fin_assets.settings import Settings
from fin_assets.testing.landing_files import csv_bytes
from fin_assets.universe import load_universe
from fin_assets.universe.universe import Symbol

HISTORY = RunRequest("symbol_history_job", "2025-01-01|AAPL", "2025-01-17|AAPL")
CORRECTED = date(2025, 1, 6)
KEY = "landing/AAPL/2025-01-06/correction.csv"


def later_rows(warehouse: DuckDBWarehouse, table: str) -> pd.DataFrame:
    rows = warehouse.query(
        f"SELECT * FROM {table} WHERE symbol = 'AAPL' AND trade_date > ? "
        "ORDER BY trade_date" + (", signal" if table == "fact_signal" else ""),
        [CORRECTED],
    )
    rows["trade_date"] = pd.to_datetime(rows["trade_date"]).dt.date
    return rows.reset_index(drop=True)


@pytest.mark.slow
def test_a_correction_reaches_every_later_row_of_its_symbol(
    fin_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIN_HOME", str(fin_settings.home))
    monkeypatch.setenv("FIN_DAGSTER_PG_URL", fin_settings.dagster_pg_url)
    defs = build_definitions(fin_settings)
    assert (
        defs.resolve_job_def(HISTORY.job_name)
        .execute_in_process(instance=open_instance(fin_settings), tags=HISTORY.tags)
        .success
    )
    warehouse = DuckDBWarehouse(str(fin_settings.warehouse_path))
    before = later_rows(warehouse, "fact_risk")
    aapl = next(s for s in load_universe() if s.symbol == "AAPL")
    day = simulate_intraday(42, aapl, CORRECTED)
    corrected = day.assign(**{c: day[c] * 1.03 for c in ("open", "high", "low", "close")})
    ParquetLake(fin_settings.lake_url).replace_object(KEY, csv_bytes(corrected))

    assert main(["ingest-landing"]) == 0

    assert_later_rows_recomputed(warehouse, aapl, corrected_close=day["close"].iloc[-1] * 1.03)
    # The day after the correction has a new return: the rows really were recomputed.
    after = later_rows(warehouse, "fact_risk")
    assert after["return_1d"].iloc[0] != pytest.approx(before["return_1d"].iloc[0])


def assert_later_rows_recomputed(
    warehouse: DuckDBWarehouse, aapl: Symbol, corrected_close: float
) -> None:
    """AAPL's bar of CORRECTED closes at `corrected_close`, and every later row of fact_risk,
    fact_indicator and fact_signal equals a recomputation from the warehouse's daily bars."""
    bars = warehouse.query("SELECT * FROM fact_daily_bar WHERE symbol = 'AAPL'")
    bars["trade_date"] = pd.to_datetime(bars["trade_date"]).dt.date
    assert bars.loc[bars["trade_date"] == CORRECTED, "close"].item() == pytest.approx(
        corrected_close, rel=1e-12
    )
    risk = compute_risk_metrics(bars, {"AAPL": aapl.periods_per_year})
    risk = risk[risk["trade_date"] > CORRECTED].reset_index(drop=True)
    after = later_rows(warehouse, "fact_risk")
    assert after["trade_date"].tolist() == risk["trade_date"].tolist() != []
    for column in RISK_METRIC_COLUMNS:
        np.testing.assert_allclose(after[column], risk[column], rtol=1e-12, err_msg=column)
    indicators = compute_indicators(bars)
    indicators_after = later_rows(warehouse, "fact_indicator")
    expected = indicators[indicators["trade_date"] > CORRECTED].reset_index(drop=True)
    for column in INDICATOR_COLUMNS:
        np.testing.assert_allclose(
            indicators_after[column], expected[column], rtol=1e-12, err_msg=column
        )
    signals = compute_signals(indicators)
    signals = signals[signals["trade_date"] > CORRECTED].reset_index(drop=True)
    stored = later_rows(warehouse, "fact_signal")
    assert stored[["trade_date", "signal"]].values.tolist() == (
        signals[["trade_date", "signal"]].values.tolist()
    )
