"""Each job's assets, as they were chosen when the selections were hand-kept tuples (the one
list of what every job runs), and its checks: every check of those assets but `freshness`."""

from dagster import AssetSelection

from fin_assets.definitions import defs

SIGNAL_PATH = {
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
}
JOB_ASSETS = {
    "symbol_history_job": SIGNAL_PATH,
    "landing_job": SIGNAL_PATH,
    "portfolio_job": {
        "portfolio_risk",
        "correlation_matrix",
        "fact_portfolio_risk",
        "fact_correlation",
    },
    "reference_job": {"dim_symbol", "dim_date"},
    "vendor_pull_job": {"raw_quotes"},
    "report_job": {"market_report"},
    "lake_compaction_job": {
        f"{name}_compacted"
        for name in (
            "intraday_bars",
            "daily_bars",
            "technical_indicators",
            "trading_signals",
            "risk_metrics",
        )
    },
    "stream_status_job": {"stream_landing_status"},
}


def test_each_job_selects_its_assets_and_their_checks_but_freshness() -> None:
    definitions = defs()
    graph = definitions.resolve_asset_graph()
    for job in definitions.jobs or []:
        assets = {key.to_user_string() for key in job.selection.resolve(graph)}
        assert assets == JOB_ASSETS[job.name], job.name
        every_check = AssetSelection.checks_for_assets(*assets).resolve_checks(graph)
        expected = {key for key in every_check if key.name != "freshness"}
        assert job.selection.resolve_checks(graph) == expected, job.name
    assert {job.name for job in definitions.jobs or []} == set(JOB_ASSETS)
