"""Check rules of the raw quotes, bars and analytics datasets, as fin_assets.analytics.quality
RuleResults: the assets evaluate them (fin_assets.defs.common.checks turns them into Dagster
check results), the Spark jobs too where they compute the same dataset (reported through
Pipes). The warehouse's rules are in fin_assets.warehouse.check_rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

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


def payload_present_result(
    missing: Sequence[Sequence[str]], checked_rows: int, payload: str = "payload"
) -> quality.RuleResult:
    """Rule "payload_present": none of the `checked_rows` session partitions lacks a raw
    payload; `missing` lists those that do, as (symbol, ISO trade date)."""
    absent = pd.DataFrame(missing, columns=["symbol", "trade_date"])
    return quality.RuleResult(
        rule="payload_present",
        passed=not missing,
        failed_rows=len(missing),
        checked_rows=checked_rows,
        sample=absent,
        detail=f"{len(missing)} session partitions without a {payload}",
        failed_partitions=quality.rows_by_partition(absent),
    )


def session_has_bars_result(no_data: Sequence[str], checked_rows: int) -> quality.RuleResult:
    """Rule "session_has_bars": no session partition ("SYMBOL|date", in `no_data`) was answered
    with a payload holding no bar (a later pull asks again)."""
    rows = [entry.split("|") for entry in no_data]
    return quality.RuleResult(
        rule="session_has_bars",
        passed=not rows,
        failed_rows=len(rows),
        checked_rows=checked_rows,
        sample=pd.DataFrame(rows, columns=["symbol", "trade_date"]),
        detail=f"{len(rows)} sessions answered without a bar (fetched again by the next pull)"
        + (f": {', '.join(no_data[:20])}" if rows else ""),
    )


def ohlc_repaired_result(
    repaired: Sequence[tuple[str, date, str, pd.Timestamp]], checked_rows: int
) -> quality.RuleResult:
    """Rule "ohlc_repaired": no bar of `checked_rows` was repaired by its source's OHLC policy;
    `repaired` lists those that were, as (symbol, trade date, source, ts)."""
    sample = pd.DataFrame(repaired, columns=["symbol", "trade_date", "source", "ts"])
    sources = sorted({source for _, _, source, _ in repaired})
    detail = (
        f"{len(repaired)} of {checked_rows} bars repaired (high/low widened to cover "
        f"open and close; sources {', '.join(sources)}; raw payloads kept as received)"
        if repaired
        else f"no bar of {checked_rows} needed an OHLC repair"
    )
    return quality.RuleResult(
        rule="ohlc_repaired",
        passed=not repaired,
        failed_rows=len(repaired),
        checked_rows=checked_rows,
        sample=sample.head(quality.SAMPLE_SIZE),
        detail=detail,
    )


def anomaly_result(frame: pd.DataFrame, kind: str, partitions: int) -> quality.RuleResult:
    """Rule `kind` (an anomaly kind): the run's `partitions` hold no anomaly of that kind;
    `frame` is the run's anomalies (column `anomaly`: the kind)."""
    flagged = frame[frame["anomaly"] == kind]
    return quality.RuleResult(
        rule=kind,
        passed=flagged.empty,
        failed_rows=len(flagged),
        checked_rows=partitions,
        sample=flagged.head(quality.SAMPLE_SIZE),
        detail=f"{len(flagged)} {kind.replace('_', ' ')} anomalies in the run's partitions",
        failed_partitions=quality.rows_by_partition(flagged),
    )
