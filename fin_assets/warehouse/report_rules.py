"""The market report's check rule, as a fin_assets.analytics.quality RuleResult over the
dashboard's data (apart from the warehouse's rules: only the report's code depends on the
dashboard)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from fin_assets.analytics.quality import RuleResult

if TYPE_CHECKING:
    from fin_assets.warehouse.dashboard import DashboardData


def covers_every_symbol_result(data: DashboardData) -> RuleResult:
    """`covers_every_symbol` of the market report: every symbol with daily bars has a chart,
    and the correlation heat map covers them all."""
    charted = set(data.symbols)
    in_heat_map = set(data.correlation["symbol_a"])
    missing = sorted(charted - in_heat_map)
    return RuleResult(
        rule="covers_every_symbol",
        passed=bool(charted) and not missing,
        failed_rows=len(missing),
        checked_rows=len(charted),
        sample=pd.DataFrame({"symbol": missing}),
        detail=f"{len(charted)} symbols charted; missing from the correlation heat map: {missing}",
    )
