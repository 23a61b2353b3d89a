"""Absurd values and failing blocking checks leave the lake and the warehouse as they were.

Issue 16 item 5: a day of 1e308 prices passed validation and the run failed at a daily_bars
check after the intraday and daily lake files were overwritten and the intraday facts loaded.
Each test starts from the same materialized history (AAPL, 2025-01-01..03), makes one run
fail, and compares every lake file's SHA-256 and every warehouse table with the history.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from dagster import AssetCheckSeverity, ExecuteInProcessResult

from fin_assets.analytics.market_calendar import session_minutes
from fin_assets.analytics.simulator import encode_payload
from fin_assets.cli import main
from fin_assets.definitions import build_definitions
from fin_assets.instance import open_instance
from fin_assets.landing.ingest import latest_rejection
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.market_data import MarketDataResource, RawPayload
from fin_assets.resources.warehouse import DuckDBWarehouse
from fin_assets.runner import RunRequest
from fin_assets.settings import Settings
from fin_assets.universe import Symbol
from fin_assets.warehouse.model import TABLES

pytestmark = pytest.mark.xdist_group("write_audit_publish")

HISTORY = RunRequest("symbol_history_job", "2025-01-01|AAPL", "2025-01-03|AAPL")
JAN3 = date(2025, 1, 3)


def run_history(settings: Settings, resources: dict | None = None) -> ExecuteInProcessResult:
    """symbol_history_job over HISTORY, in this process."""
    defs = build_definitions(settings, resources or {})
    return defs.resolve_job_def(HISTORY.job_name).execute_in_process(
        instance=open_instance(settings), tags=HISTORY.tags, raise_on_error=False
    )


def failed_checks(result: ExecuteInProcessResult) -> list[str]:
    return [
        e.check_name
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == AssetCheckSeverity.ERROR
    ]


@pytest.fixture(scope="module")
def history(module_fin_settings: Settings) -> Settings:
    assert run_history(module_fin_settings).success
    return module_fin_settings


@pytest.fixture
def settings(history: Settings, fin_settings: Settings) -> Settings:
    """A FIN_HOME holding a copy of the history's lake and warehouse (its own instance)."""
    for folder in ("lake", "warehouse"):
        shutil.copytree(history.home / folder, fin_settings.home / folder)
    return fin_settings


def lake_hashes(settings: Settings, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """SHA-256 of every lake file by its key, leaving out the zones in `skip` and the fetch
    steps' run-scoped summaries (`run_outputs/{run id}/`, which no reader of data sees)."""
    root = Path(settings.lake_url)
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.relative_to(root).parts[0] not in (*skip, "run_outputs")
    }


def warehouse_rows(settings: Settings) -> dict[str, pd.DataFrame]:
    warehouse = DuckDBWarehouse(str(settings.warehouse_path))
    return {
        table: warehouse.query(f"SELECT * FROM {table} ORDER BY {', '.join(spec.key)}")
        for table, spec in TABLES.items()
    }


def assert_unchanged(
    settings: Settings, lake: dict[str, str], warehouse: dict[str, pd.DataFrame], skip=()
) -> None:
    assert lake_hashes(settings, skip) == lake
    for table, rows in warehouse_rows(settings).items():
        pd.testing.assert_frame_equal(rows, warehouse[table], obj=table)


def absurd_bars(day: date, count: int) -> pd.DataFrame:
    """Finite, OHLC-consistent, positive, absurd: 1e308 prices and volumes."""
    return pd.DataFrame(
        {
            "ts": session_minutes("XNYS", day)[:count],
            **{column: 1e308 for column in ("open", "high", "low", "close", "volume")},
        }
    )


def test_an_absurd_landing_file_is_quarantined_naming_its_rows_and_nothing_changes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FIN_HOME", str(settings.home))
    monkeypatch.setenv("FIN_DAGSTER_PG_URL", settings.dagster_pg_url)
    lake, warehouse = lake_hashes(settings), warehouse_rows(settings)
    key = "landing/AAPL/2025-01-03/absurd.csv"
    bars = absurd_bars(JAN3, 3)
    lines = ["ts,open,high,low,close,volume"] + [
        f"{row.ts.isoformat()},1e308,1e308,1e308,1e308,1e308" for row in bars.itertuples()
    ]
    ParquetLake(settings.lake_url).replace_object(key, "\n".join(lines).encode())

    assert main(["ingest-landing"]) == 1

    assert f"{key}: rejected" in capsys.readouterr().out
    report = "; ".join(latest_rejection(ParquetLake(settings.lake_url), key).problems)
    for ts in bars["ts"]:
        assert f"{ts.isoformat()}: price above 1e+09" in report
    assert_unchanged(settings, lake, warehouse, skip=("landing", "quarantine"))


class AbsurdVendor(MarketDataResource):
    """The synthetic vendor, answering 390 minutes of 1e308 values for every session."""

    @property
    def vendor(self) -> str:
        return "synthetic"

    def fetch_intraday(self, symbol: Symbol, trade_date: date) -> RawPayload | None:
        bars = absurd_bars(trade_date, 390)
        if bars.empty:
            return None
        content = encode_payload(0, symbol, trade_date, bars)
        return RawPayload(vendor=self.vendor, endpoint="absurd", params={}, content=content)


def test_an_absurd_vendor_day_fails_the_plausibility_check_before_any_write(
    settings: Settings,
) -> None:
    lake, warehouse = lake_hashes(settings, skip=("raw",)), warehouse_rows(settings)

    result = run_history(settings, {"market_data": AbsurdVendor()})

    assert not result.success
    assert failed_checks(result) == ["plausibility"]
    [evaluation] = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert "AAPL 2025-01-02T14:30:00+00:00 (price above 1e+09" in evaluation.metadata["detail"].text
    # The payloads are kept as received (raw/ is the record of what the vendor sent); nothing
    # derived from them was written or loaded.
    assert_unchanged(settings, lake, warehouse, skip=("raw",))


def with_column(column: str, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda frame: frame.assign(**{column: value})


def with_unknown_signal(frame: pd.DataFrame) -> pd.DataFrame:
    bogus = pd.DataFrame(
        [{"symbol": "AAPL", "trade_date": JAN3, "signal": "bogus", "direction": 1, "value": 0.0}]
    )
    return pd.concat([frame, bogus.astype(frame.dtypes.to_dict())], ignore_index=True)


def with_inverted_var(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(var_95_hist=2.0, var_99_hist=1.0)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("function", "corrupt", "check"),
    [
        (
            "fin_assets.defs.bars.aggregate_daily_bars",
            with_column("volume", -1.0),
            "non_negative_volume",
        ),
        ("fin_assets.defs.analytics.compute_indicators", with_column("rsi_14", 150.0), "rsi_range"),
        ("fin_assets.defs.analytics.compute_signals", with_unknown_signal, "known_signals"),
        ("fin_assets.defs.risk.compute_risk_metrics", with_inverted_var, "var_ordering"),
    ],
    ids=["daily_bars", "technical_indicators", "trading_signals", "risk_metrics"],
)
def test_a_failing_blocking_check_leaves_lake_and_warehouse_as_they_were(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    function: str,
    corrupt: Callable[[pd.DataFrame], pd.DataFrame],
    check: str,
) -> None:
    lake, warehouse = lake_hashes(settings), warehouse_rows(settings)
    module, name = function.rsplit(".", 1)
    original = getattr(__import__(module, fromlist=[name]), name)
    monkeypatch.setattr(function, lambda *args, **kwargs: corrupt(original(*args, **kwargs)))

    result = run_history(settings)

    assert not result.success
    assert failed_checks(result) == [check]
    assert_unchanged(settings, lake, warehouse)
