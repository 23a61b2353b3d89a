"""Risk layer: per-symbol returns, volatility, VaR/CVaR; portfolio VaR and correlations.

Every asset evaluates its blocking checks before writing (defs/common/audit.py)."""

from collections.abc import Iterator
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckSeverity,
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    Config,
    MaterializeResult,
    MetadataValue,
    MultiToSingleDimensionPartitionMapping,
    asset,
    multi_asset,
)
from pydantic import Field

from fin_assets.analytics import quality
from fin_assets.analytics.market_calendar import sessions_in_range
from fin_assets.analytics.risk import (
    CONFIDENCE_LEVELS,
    compute_portfolio_risk,
    compute_risk_metrics,
)
from fin_assets.analytics.schemas import CORRELATION, DAILY_BARS, PORTFOLIO_RISK, RISK
from fin_assets.defs.common.audit import publish_if_passed
from fin_assets.defs.common.checks import check_result, check_specs, with_run_checks
from fin_assets.defs.common.partition_metadata import record_latest_preview, record_partition_rows
from fin_assets.defs.common.partition_scope import date_scope, date_symbol_scope
from fin_assets.defs.common.partitions import GraphPartitions
from fin_assets.defs.common.spark_history import history_on_spark
from fin_assets.defs.common.spark_portfolio import portfolio_on_spark
from fin_assets.executors import heavy_step_op_tags, signal_path_op_tags
from fin_assets.resources.spark_runner import SparkRunner
from fin_assets.resources.storage import LakeResource
from fin_assets.shared.check_rules import var_backtest_result
from fin_assets.shared.lake_io import (
    from_date,
    over_daily_history,
    read_symbol_history,
    write_date_partitions,
    write_symbol_partitions,
)
from fin_assets.shared.partitions import partition_values
from fin_assets.shared.portfolio import PORTFOLIO_CALENDAR, portfolio_weights
from fin_assets.universe import load_universe


def risk_metrics(
    context: AssetExecutionContext, lake: LakeResource, spark: SparkRunner
) -> Iterator[Any]:
    """Daily returns, annualized 20/60-day volatility, 1-day historical and parametric VaR and
    CVaR at 95% and 99% over the last 250 returns, per symbol and session. Large ranges run on
    Spark (fin_assets.defs.common.spark_history)."""
    scope = date_symbol_scope(context)
    if spark.use_spark(scope.partition_count):
        yield from with_run_checks(
            context, history_on_spark(context, spark, lake, scope, "risk_metrics")
        )
        return
    store = lake.get_lake()
    periods = {s.symbol: s.periods_per_year for s in load_universe()}
    history = over_daily_history(store, scope, lambda bars: compute_risk_metrics(bars, periods))
    frame = from_date(history, scope.start)
    backtests = [
        check_result(
            f"var_backtest_{label}",
            var_backtest_result(history, label, confidence),
            AssetCheckSeverity.WARN,
        )
        for label, confidence in CONFIDENCE_LEVELS.items()
    ]
    checks = [
        check_result("schema", quality.check_schema(frame, RISK)),
        check_result("unique_key", quality.check_unique(frame, ["symbol", "trade_date"])),
        check_result("var_ordering", quality.check_var_ordering(frame)),
        *backtests,
    ]
    written = yield from publish_if_passed(
        checks, lambda: write_symbol_partitions(store, "risk_metrics", RISK, frame, scope)
    )
    record_partition_rows(context, written)
    result = MaterializeResult(
        metadata={"rows_in_run": written.total, "partitions": scope.partition_count},
        check_results=checks,
    )
    yield from with_run_checks(context, result)


class PortfolioConfig(Config):
    """Weights of the portfolio by symbol (fractions summing to 1; symbols left out weigh 0).

    Empty (the default) means equal weights over the whole universe.
    """

    weights: dict[str, float] = Field(default_factory=dict)

    def resolved_weights(self) -> dict[str, float]:
        return portfolio_weights(self.weights)


def portfolio_risk(
    context: AssetExecutionContext, config: PortfolioConfig, lake: LakeResource, spark: SparkRunner
) -> Iterator[Any]:
    """Portfolio risk per session of PORTFOLIO_CALENDAR; other dates are zero-row partitions.
    Long ranges run on Spark (fin_assets.defs.common.spark_portfolio)."""
    dates = date_scope(context)
    values = partition_values()
    if spark.use_spark(len(dates) * len(values.symbols)):
        yield from with_run_checks(
            context, *portfolio_on_spark(context, spark, lake, dates, config.resolved_weights())
        )
        return
    store = lake.get_lake()
    sessions = sessions_in_range(PORTFOLIO_CALENDAR, values.history_start, dates[-1])
    closes = pd.DataFrame(index=pd.Index(sessions, name="trade_date"))
    for symbol in values.symbols:
        history = read_symbol_history(
            store, "daily_bars", DAILY_BARS, symbol, values.history_start, dates[-1]
        )
        closes[symbol] = history.set_index("trade_date")["close"].reindex(closes.index)
    weights = config.resolved_weights()
    portfolio, correlation = compute_portfolio_risk(closes, weights)
    portfolio = portfolio[portfolio["trade_date"].isin(dates)]
    correlation = correlation[correlation["trade_date"].isin(dates)]
    checks = [
        check_result("var_ordering", quality.check_var_ordering(portfolio), asset="portfolio_risk"),
        check_result(
            "correlation_range",
            quality.check_value_range(correlation, "correlation", -1.0, 1.0),
            asset="correlation_matrix",
        ),
    ]
    portfolio_rows, correlation_rows = yield from publish_if_passed(
        checks,
        lambda: (
            write_date_partitions(store, "portfolio_risk", PORTFOLIO_RISK, portfolio, dates),
            write_date_partitions(store, "correlation_matrix", CORRELATION, correlation, dates),
        ),
    )
    record_partition_rows(context, portfolio_rows, asset_key="portfolio_risk")
    record_partition_rows(context, correlation_rows, asset_key="correlation_matrix")
    record_latest_preview(context, portfolio, asset_key="portfolio_risk")
    record_latest_preview(context, correlation, asset_key="correlation_matrix")
    yield from with_run_checks(
        context,
        MaterializeResult(
            asset_key="portfolio_risk",
            metadata={
                "rows_in_run": portfolio_rows.total,
                "partitions": len(dates),
                "weights": MetadataValue.json(weights),
            },
        ),
        MaterializeResult(
            asset_key="correlation_matrix",
            metadata={"rows_in_run": correlation_rows.total, "partitions": len(dates)},
        ),
        *checks,
    )


def build_assets(partitions: GraphPartitions) -> list[AssetsDefinition]:
    """The risk assets on `partitions`."""
    return [
        asset(
            group_name="risk",
            partitions_def=partitions.date_symbol_partitions,
            backfill_policy=BackfillPolicy.single_run(),
            # The same date's daily bars (the look-back: automation.LOOKBACKS).
            deps=["daily_bars"],
            check_specs=check_specs(
                "risk_metrics",
                blocking=["schema", "unique_key", "var_ordering"],
                warning=[f"var_backtest_{label}" for label in CONFIDENCE_LEVELS],
            ),
            kinds={"parquet", "pandas"},
            op_tags={**heavy_step_op_tags(), **signal_path_op_tags()},
        )(risk_metrics),
        multi_asset(
            group_name="risk",
            partitions_def=partitions.date_partitions,
            backfill_policy=BackfillPolicy.single_run(),
            specs=[
                AssetSpec(
                    "portfolio_risk",
                    deps=[
                        AssetDep(
                            "daily_bars",
                            partition_mapping=MultiToSingleDimensionPartitionMapping("date"),
                        )
                    ],
                    description="Portfolio of the universe (equal weights unless the run config "
                    "sets others): 1-day VaR/CVaR and volatility.",
                    kinds={"parquet", "pandas"},
                ),
                AssetSpec(
                    "correlation_matrix",
                    deps=[
                        AssetDep(
                            "daily_bars",
                            partition_mapping=MultiToSingleDimensionPartitionMapping("date"),
                        )
                    ],
                    description="Pearson correlation of daily returns over 60 sessions, all pairs.",
                    kinds={"parquet", "pandas"},
                ),
            ],
            check_specs=[
                *check_specs("portfolio_risk", blocking=["var_ordering"]),
                *check_specs("correlation_matrix", blocking=["correlation_range"]),
            ],
            op_tags=heavy_step_op_tags(),
        )(portfolio_risk),
    ]
