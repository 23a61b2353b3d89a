"""The market report: a self-contained HTML dashboard of the warehouse, written to the lake.

The page (see fin_assets.warehouse.dashboard) is stored as an immutable lake object named by
its content, `reports/market_report/<last trade date>-<sha256 prefix>.html`. The
materialization's metadata has its lake location (`path`) and `url`, its address on the report
site (fin_assets.resources.report_site: `fin-assets dev` serves it next to the UI). It is
refreshed by `report_job` (which `fin-assets demo` and `backfill` run last), not by
declarative automation: one page per change wave of the facts would be wasted work.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pandas as pd
from dagster import (
    AssetCheckSeverity,
    AssetSelection,
    MaterializeResult,
    MetadataValue,
    asset,
    define_asset_job,
)

from fin_assets.defs.common.checks import check_result, check_specs
from fin_assets.defs.warehouse.assets import WAREHOUSE_POOL
from fin_assets.resources.report_site import ReportSiteResource
from fin_assets.resources.storage import LakeResource, WarehouseResource
from fin_assets.warehouse.report_rules import covers_every_symbol_result

if TYPE_CHECKING:
    pass

REPORT_PREFIX = "reports/market_report"


@asset(
    group_name="report",
    deps=["fact_daily_bar", "fact_indicator", "fact_signal", "fact_risk", "fact_correlation"],
    check_specs=check_specs("market_report", warning=["covers_every_symbol"]),
    kinds={"html", "plotly"},
    pool=WAREHOUSE_POOL,
)
def market_report(
    lake: LakeResource, warehouse: WarehouseResource, report_site: ReportSiteResource
) -> MaterializeResult:
    """Self-contained HTML dashboard: per symbol price with Bollinger bands, SMA 50/200 and
    signals, RSI and MACD panes, daily returns against VaR with exceptions; the correlation
    heat map; the risk dashboard table. Opens offline in any browser."""
    # Imported here: plotly takes 0.3 s to import, which every run process would pay.
    from fin_assets.warehouse.dashboard import read_dashboard_data, render_dashboard

    data = read_dashboard_data(warehouse.get_warehouse().query)
    last = pd.Timestamp(data.prices["trade_date"].max()).date()
    page = render_dashboard(data, title=f"fin_assets market report, data to {last}").encode()
    key = f"{REPORT_PREFIX}/{last}-{hashlib.sha256(page).hexdigest()[:16]}.html"
    store = lake.get_lake()
    store.put_object(key, page)
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(store.uri(f"{store.root}/{key}")),
            "url": MetadataValue.url(report_site.url_for(key)),
            "symbols": len(data.symbols),
            "last_trade_date": last.isoformat(),
            "bytes": len(page),
        },
        check_results=[
            check_result(
                "covers_every_symbol",
                covers_every_symbol_result(data),
                severity=AssetCheckSeverity.WARN,
            )
        ],
    )


report_job = define_asset_job(
    "report_job",
    selection=AssetSelection.assets("market_report"),
    description="The market report (HTML dashboard) from the warehouse, written to the lake.",
)
