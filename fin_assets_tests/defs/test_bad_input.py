"""Bad input stops the graph with a clear error and leaves evidence, never silent success."""

from datetime import date
from pathlib import Path

import pandas as pd
from dagster import DagsterEventType

from fin_assets.analytics.simulator import encode_payload
from fin_assets.definitions import build_definitions
from fin_assets.instance import open_instance
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.market_data import MarketDataResource, RawPayload
from fin_assets.runner import RunRequest, check_outcomes
from fin_assets.settings import Settings
from fin_assets.universe import Symbol

REAL_BARS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
REAL_BARS_FILE = REAL_BARS / "crypto_minute_2025-10-12.parquet"


class ReplayedVendorBars(MarketDataResource):
    """Serves real CryptoCompare minute bars of 2025-10-12 (ETHEREUM) as ETH's payload."""

    path: str

    @property
    def vendor(self) -> str:
        return "synthetic"

    def fetch_intraday(self, symbol: Symbol, trade_date: date) -> RawPayload | None:
        frame = pd.read_parquet(self.path)
        bars = frame[frame["symbol"] == "ETHEREUM"].rename(columns={"timestamp": "ts"})
        content = encode_payload(0, symbol, trade_date, bars.reset_index(drop=True))
        return RawPayload(vendor=self.vendor, endpoint="replay", params={}, content=content)


def materialized_assets(settings: Settings, run_id: str) -> set[str]:
    records = open_instance(settings).get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=10_000
    )
    return {r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records.records}


def test_inconsistent_vendor_bars_fail_a_blocking_check_and_stop_downstream(
    fin_settings: Settings,
) -> None:
    source = ReplayedVendorBars(path=str(REAL_BARS_FILE))
    defs = build_definitions(fin_settings, {"market_data": source})
    request = RunRequest("symbol_history_job", "2025-10-12|ETH", "2025-10-12|ETH")
    instance = open_instance(fin_settings)
    result = defs.resolve_job_def(request.job_name).execute_in_process(
        instance=instance, tags=request.tags, raise_on_error=False
    )
    assert not result.success
    checks = {(c.asset, c.check): c for c in check_outcomes(instance, result.run_id)}
    # ETHEREUM has exactly 2 inconsistent bars in the file (see shared/data/README.md).
    ohlc = [e for e in result.get_asset_check_evaluations() if e.check_name == "ohlc_consistency"]
    assert [(e.passed, e.metadata["failed_rows"].value) for e in ohlc] == [(False, 2)]
    # The file lost 00:00-03:59 UTC: 240 of the session's 1,440 minutes are missing.
    assert not checks[("intraday_bars", "session_completeness")].passed
    completeness = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "session_completeness"
    ]
    assert completeness[0].metadata["failed_rows"].value == 240
    # Write-audit-publish: the checks ran on the bars in memory, so nothing was written.
    done = materialized_assets(fin_settings, result.run_id)
    assert "raw_quotes" in done
    assert not {"intraday_bars", "daily_bars", "fact_daily_bar"} & done
    lake = ParquetLake(fin_settings.lake_url)
    assert lake.existing_dates("intraday_bars", "ETH") == set()
    assert lake.existing_dates("daily_bars", "ETH") == set()


def test_a_date_without_its_history_fails_naming_the_missing_partitions(
    fin_settings: Settings,
) -> None:
    defs = build_definitions(fin_settings)
    request = RunRequest("symbol_history_job", "2025-03-03|AAPL", "2025-03-03|AAPL")
    result = defs.resolve_job_def(request.job_name).execute_in_process(
        instance=open_instance(fin_settings), tags=request.tags, raise_on_error=False
    )
    assert not result.success
    failures = result.get_step_failure_events()
    assert failures, "a step must fail"
    message = failures[0].step_failure_data.error.to_string()
    assert "missing partition(s)" in message and "daily_bars" in message
    assert "(AAPL, 2025-01-01)" in message
    assert {"raw_quotes", "intraday_bars", "daily_bars"} <= materialized_assets(
        fin_settings, result.run_id
    )
