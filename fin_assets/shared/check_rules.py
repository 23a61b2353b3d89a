"""Check rules of the analytics datasets that the assets and the Spark jobs both evaluate, as
fin_assets.analytics.quality RuleResults (fin_assets.defs.common.checks turns them into Dagster
check results; the Spark jobs report them through Pipes)."""

from __future__ import annotations

import pandas as pd

from fin_assets.analytics import quality
from fin_assets.analytics.risk import backtest_var
from fin_assets.analytics.signals import SIGNAL_NAMES

# VaR forecasts per symbol that the backtest checks test (about one year of sessions).
BACKTEST_WINDOW = 250


def known_signals_result(frame: pd.DataFrame) -> quality.RuleResult:
    """Rule "known_signals": every signal name is one of SIGNAL_NAMES."""
    unknown = ~frame["signal"].isin(SIGNAL_NAMES)
    return quality.RuleResult(
        rule="known_signals",
        passed=not unknown.any(),
        failed_rows=int(unknown.sum()),
        checked_rows=len(frame),
        sample=frame[unknown].head(20),
        detail=f"signal names outside {', '.join(SIGNAL_NAMES)}",
        failed_partitions=quality.rows_by_partition(frame[unknown]),
    )


def var_backtest_result(metrics: pd.DataFrame, label: str, confidence: float) -> quality.RuleResult:
    """Kupiec and Christoffersen tests of the historical VaR over each symbol's last 250 days.

    Fails (as a warning) when the model is rejected at 5% for any symbol, on every partition of
    that symbol in the run; the statistics of every symbol are the check's evidence.
    """
    table = backtest_var(metrics, f"var_{label}_hist", confidence, window=BACKTEST_WINDOW)
    rejected = table[table["rejected"]]
    if table.empty:
        detail = "no VaR forecast/return pairs yet (the VaR window is not full)"
    elif rejected.empty:
        detail = f"not rejected at 5% for any of {len(table)} symbols"
    else:
        detail = f"rejected at 5% for {', '.join(rejected['symbol'])}"
    return quality.RuleResult(
        rule=f"var_backtest_{label}",
        passed=rejected.empty,
        failed_rows=len(rejected),
        checked_rows=len(table),
        sample=table.round(4),
        detail=detail,
        failed_partitions={} if rejected.empty else {(s, None): 1 for s in rejected["symbol"]},
    )
