"""Jobs: each covers one partitions definition, so one run can process a whole range.

- symbol_history_job: date × symbol assets, raw quotes to warehouse facts.
- portfolio_job: date-partitioned portfolio risk and correlations, to the warehouse.
- reference_job: the unpartitioned dimensions.

None runs the freshness checks (fin_assets.defs.operations.freshness evaluates them).
"""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from fin_assets.defs.operations.freshness import without_freshness_checks

SYMBOL_HISTORY_ASSETS = (
    "raw_quotes",
    "intraday_bars",
    "daily_bars",
    "technical_indicators",
    "trading_signals",
    "anomalies",
    "risk_metrics",
    "fact_daily_bar",
    "fact_intraday_bar",
    "fact_indicator",
    "fact_signal",
    "fact_risk",
)
PORTFOLIO_ASSETS = (
    "portfolio_risk",
    "correlation_matrix",
    "fact_portfolio_risk",
    "fact_correlation",
)
REFERENCE_ASSETS = ("dim_symbol", "dim_date")

symbol_history_job = define_asset_job(
    "symbol_history_job",
    selection=without_freshness_checks(AssetSelection.assets(*SYMBOL_HISTORY_ASSETS)),
    description="Raw quotes → bars → indicators → signals → risk → facts, date × symbol range.",
)
portfolio_job = define_asset_job(
    "portfolio_job",
    selection=without_freshness_checks(AssetSelection.assets(*PORTFOLIO_ASSETS)),
    description="Portfolio VaR and correlations per session, and their warehouse facts.",
)
reference_job = define_asset_job(
    "reference_job",
    selection=AssetSelection.assets(*REFERENCE_ASSETS),
    description="Warehouse dimensions: dim_symbol (from the universe file) and dim_date.",
)
