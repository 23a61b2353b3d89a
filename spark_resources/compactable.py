"""The per-symbol datasets the compaction job can compact, without importing pyspark: the
compaction assets (fin_assets.defs.operations.compaction) are defined from it in every process that
loads the code location, the job itself (compaction_job) runs on Spark."""

from fin_assets.analytics import schemas

# Per-symbol datasets that can be compacted, with their sort order inside a file.
COMPACTABLE = {
    "intraday_bars": (schemas.INTRADAY_BARS, ("trade_date", "ts")),
    "daily_bars": (schemas.DAILY_BARS, ("trade_date",)),
    "technical_indicators": (schemas.INDICATORS, ("trade_date",)),
    "trading_signals": (schemas.SIGNALS, ("trade_date", "signal")),
    "risk_metrics": (schemas.RISK, ("trade_date",)),
}
