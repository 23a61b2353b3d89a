"""Absurd values and failing blocking checks leave the lake and the warehouse as they were.

Issue 16 item 5: a day of 1e308 prices passed validation and the run failed at a daily_bars
check after the intraday and daily lake files were overwritten and the intraday facts loaded.
Each test starts from the same materialized history (AAPL, 2025-01-01..03), makes one run
fail, and compares every lake file's SHA-256 and every warehouse table with the history.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from dagster import (
    AssetCheckSeverity,
    DagsterEventType,
    DagsterInstance,
    ExecuteInProcessResult,
    JobDefinition,
    execute_job,
    multiprocess_executor,
    reconstructable,
)

from fin_assets.analytics.market_calendar import session_minutes
from fin_assets.analytics.quality import RuleResult
from fin_assets.analytics.simulator import encode_payload, simulate_intraday
from fin_assets.cli import main
from fin_assets.definitions import build_definitions
from fin_assets.defs.common.publish import publishing_executor
from fin_assets.defs.risk import assets as risk_defs
from fin_assets.defs.risk.assets import compute_risk_metrics
from fin_assets.defs.warehouse import assets as warehouse_defs
from fin_assets.instance import open_instance
from fin_assets.landing.ingest import latest_rejection
from fin_assets.landing.raw_store import RawPayload
from fin_assets.resources.environments import warehouse_resource
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.market_data import MarketDataResource
from fin_assets.resources.storage import opened_warehouse
from fin_assets.resources.warehouse import STAGED_LOADS
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.runner import RunRequest
from fin_assets.settings import Settings, get_settings
from fin_assets.universe import Symbol, load_universe
from fin_assets.warehouse.model import TABLES, date_rows

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


def raw_hashes(settings: Settings) -> dict[str, str]:
    """SHA-256 of every object of the raw zone by its key."""
    other_zones = {path.name for path in Path(settings.lake_url).iterdir()} - {"raw"}
    return lake_hashes(settings, skip=tuple(other_zones))


def warehouse_rows(settings: Settings) -> dict[str, pd.DataFrame]:
    """Every table of the settings' warehouse (DuckDB or Snowflake), ordered by its key."""
    with opened_warehouse(warehouse_resource(settings)) as warehouse:
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
    raw = raw_hashes(settings)

    result = run_history(settings, {"market_data": AbsurdVendor()})

    assert not result.success
    assert failed_checks(result) == ["plausibility"]
    [evaluation] = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert "AAPL 2025-01-02T14:30:00+00:00 (price above 1e+09" in evaluation.metadata["detail"].text
    # The payloads are kept as received (raw/ is the record of what the vendor sent), added
    # beside the earlier ones, which stay as they were; nothing derived from them was written
    # or loaded.
    after = raw_hashes(settings)
    assert {key: after[key] for key in raw} == raw
    assert len(after) > len(raw)
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
            "fin_assets.defs.bars.assets.aggregate_daily_bars",
            with_column("volume", -1.0),
            "non_negative_volume",
        ),
        (
            "fin_assets.defs.analytics.assets.compute_indicators",
            with_column("rsi_14", 150.0),
            "rsi_range",
        ),
        ("fin_assets.defs.analytics.assets.compute_signals", with_unknown_signal, "known_signals"),
        ("fin_assets.defs.risk.assets.compute_risk_metrics", with_inverted_var, "var_ordering"),
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


def history_job() -> JobDefinition:
    """symbol_history_job of the settings in the environment (FIN_HOME, FIN_SEED), with the
    code location's own executor (reconstructable: `execute_job` rebuilds it by name)."""
    return build_definitions(get_settings()).resolve_job_def(HISTORY.job_name)


# Set in the environment, which step subprocesses inherit: every process of a run of
# multiprocess_history_job inverts risk_metrics' VaR, so that its blocking check fails.
INVERT_VAR = "FIN_TEST_INVERT_VAR"


def multiprocess_history_job() -> JobDefinition:
    """history_job() with each step in its own process, as each step in its own pod
    (FIN_EXECUTOR=k8s): the publishing wrapper over Dagster's multiprocess executor, one step
    at a time (one DuckDB writer). With INVERT_VAR set, risk_metrics' VaR is inverted in the
    process calling this: the run worker and every step subprocess."""
    if os.environ.get(INVERT_VAR):
        risk_defs.compute_risk_metrics = lambda *args, **kwargs: with_inverted_var(
            compute_risk_metrics(*args, **kwargs)
        )
    executor = publishing_executor(multiprocess_executor.configured({"max_concurrent": 1}))
    return history_job().with_executor_def(executor)


def reference_job() -> JobDefinition:
    """reference_job (the dimensions) of the settings in the environment, with its executor."""
    return build_definitions(get_settings()).resolve_job_def("reference_job")


def launch(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    job: Callable[[], JobDefinition] = history_job,
    tags: Mapping[str, str] = HISTORY.tags,
) -> tuple[bool, list[str]]:
    """A run of `job` (by default symbol_history_job over HISTORY) with its executor (by
    default the job's own, as a launched run executes it: the publishing in-process executor),
    on vendor data of another seed: every step's output differs from the history's. Its
    success and its failed blocking checks."""
    monkeypatch.setenv("FIN_HOME", str(settings.home))
    monkeypatch.setenv("FIN_DAGSTER_PG_URL", settings.dagster_pg_url)
    monkeypatch.setenv("FIN_SEED", "7")
    instance = open_instance(settings)
    with execute_job(reconstructable(job), instance, tags=tags, raise_on_error=False) as result:
        records = instance.get_records_for_run(
            result.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        failed = [
            evaluation.check_name
            for record in records
            if not (
                evaluation := record.event_log_entry.dagster_event.asset_check_evaluation_data
            ).passed
            and evaluation.severity == AssetCheckSeverity.ERROR
        ]
        return result.success, failed


@pytest.mark.parametrize(
    "job",
    [
        pytest.param(history_job, id="in_process"),
        pytest.param(multiprocess_history_job, id="step_processes", marks=pytest.mark.slow),
    ],
)
def test_a_staged_run_publishes_what_it_wrote_when_it_succeeds(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, job: Callable[[], JobDefinition]
) -> None:
    lake, warehouse = lake_hashes(settings, skip=("raw",)), warehouse_rows(settings)

    assert launch(settings, monkeypatch, job) == (True, [])

    published = lake_hashes(settings, skip=("raw",))
    assert published.keys() == lake.keys()  # nothing left in staging
    changed = {key for key in lake if published[key] != lake[key]}
    assert any(key.startswith("intraday_bars/") for key in changed)
    assert any(key.startswith("risk_metrics/") for key in changed)
    rows = warehouse_rows(settings)
    assert not rows["fact_intraday_bar"].equals(warehouse["fact_intraday_bar"])
    assert not rows["fact_risk"].equals(warehouse["fact_risk"])
    assert (
        DuckDBWarehouse(str(settings.warehouse_path))
        .query(f"SELECT count(*) AS n FROM {STAGED_LOADS}")["n"]
        .iloc[0]
        == 0
    )


def test_staging_and_publication_build_their_resources_on_the_runs_instance(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an instance, Dagster's build_resources creates a throw-away one (a SQLite
    database, migrated) each time: 0.2 s twice per run on the slower CPU."""

    def no_ephemeral_instance(*args: object, **kwargs: object) -> DagsterInstance:
        raise AssertionError("an ephemeral Dagster instance was created")

    monkeypatch.setattr(DagsterInstance, "ephemeral", no_ephemeral_instance)

    assert launch(settings, monkeypatch, reference_job, tags={}) == (True, [])


LATER_CHECKS = [
    (
        "fin_assets.defs.bars.assets.aggregate_daily_bars",
        with_column("volume", -1.0),
        "non_negative_volume",
    ),
    (
        "fin_assets.defs.analytics.assets.compute_indicators",
        with_column("rsi_14", 150.0),
        "rsi_range",
    ),
    ("fin_assets.defs.analytics.assets.compute_signals", with_unknown_signal, "known_signals"),
    ("fin_assets.defs.risk.assets.compute_risk_metrics", with_inverted_var, "var_ordering"),
]


ORIGINAL_KEYS_RESULT = warehouse_defs.range_key_results


def fact_rows_differ(name: str, *args: object, **kwargs: object) -> list:
    """The fact checks' results with `rows_match_lake` failed."""
    results = ORIGINAL_KEYS_RESULT(name, *args, **kwargs)
    return [replace(r, passed=False) if r.rule == "rows_match_lake" else r for r in results]


@pytest.mark.parametrize(
    ("function", "corrupt", "check"),
    [
        pytest.param(*LATER_CHECKS[0], id="daily_bars"),
        *(
            pytest.param(*c, id=c[0].rsplit(".", 2)[1], marks=pytest.mark.slow)
            for c in LATER_CHECKS[1:]
        ),
        pytest.param(None, None, "rows_match_lake", id="warehouse_fact", marks=pytest.mark.slow),
    ],
)
def test_a_run_failing_after_earlier_steps_wrote_leaves_lake_and_warehouse_as_they_were(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    function: str | None,
    corrupt: Callable[[pd.DataFrame], pd.DataFrame] | None,
    check: str,
) -> None:
    """Issue 16 item 5(b): the run's earlier steps (intraday bars, the facts loaded before the
    failure) write data that differs from the history, then a blocking check fails: nothing of
    the run is published."""
    lake, warehouse = lake_hashes(settings, skip=("raw",)), warehouse_rows(settings)
    if function is None:
        monkeypatch.setattr("fin_assets.defs.warehouse.assets.range_key_results", fact_rows_differ)
    else:
        module, name = function.rsplit(".", 1)
        original = getattr(__import__(module, fromlist=[name]), name)
        monkeypatch.setattr(function, lambda *args, **kwargs: corrupt(original(*args, **kwargs)))

    success, failed = launch(settings, monkeypatch)

    assert not success
    assert check in failed
    assert_unchanged(settings, lake, warehouse, skip=("raw",))


@pytest.mark.slow
def test_a_run_of_step_processes_failing_after_earlier_steps_wrote_leaves_lake_and_warehouse(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16 item 5(b) with FIN_EXECUTOR=k8s, where each step runs in a process of its own:
    the steps before risk_metrics write the other seed's bars and facts, then risk_metrics'
    blocking check fails; nothing of the run is published."""
    lake, warehouse = lake_hashes(settings, skip=("raw",)), warehouse_rows(settings)
    monkeypatch.setenv(INVERT_VAR, "1")
    # Restored after the test: multiprocess_history_job inverts it in this process too.
    monkeypatch.setattr(risk_defs, "compute_risk_metrics", compute_risk_metrics)

    success, failed = launch(settings, monkeypatch, multiprocess_history_job)

    assert not success
    assert "var_ordering" in failed
    assert_unchanged(settings, lake, warehouse, skip=("raw",))


def with_failed_check(function: Callable[..., RuleResult]) -> Callable[..., RuleResult]:
    return lambda *args, **kwargs: replace(function(*args, **kwargs), passed=False)


def universe_with_renamed_aapl() -> list[Symbol]:
    """The universe with another name for AAPL: its dim_symbol version is closed, one opened."""
    return [replace(s, name="Renamed Inc.") if s.symbol == "AAPL" else s for s in load_universe()]


def dates_but_the_last(*args: object) -> pa.Table:
    rows = date_rows(*args)
    return rows.slice(0, rows.num_rows - 1)


@pytest.mark.parametrize(
    ("patches", "check"),
    [
        pytest.param(
            {
                "load_universe": universe_with_renamed_aapl,
                "unique_dates_result": with_failed_check(warehouse_defs.unique_dates_result),
            },
            "unique_key",
            id="dim_symbol_changed_dim_date_fails",
        ),
        pytest.param(
            {
                "date_rows": dates_but_the_last,
                "one_current_version_result": with_failed_check(
                    warehouse_defs.one_current_version_result
                ),
            },
            "one_current_version",
            id="dim_date_changed_dim_symbol_fails",
        ),
    ],
)
def test_a_reference_run_failing_leaves_the_dimensions_as_they_were(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, patches: dict, check: str
) -> None:
    """Issue 16 item 5(b) for the dimensions: one dimension's load changes it, the other's
    blocking check fails; neither is published."""
    assert launch(settings, monkeypatch, reference_job, {}) == (True, [])
    lake, warehouse = lake_hashes(settings, skip=("raw",)), warehouse_rows(settings)
    for name, patch in patches.items():
        monkeypatch.setattr(warehouse_defs, name, patch)

    success, failed = launch(settings, monkeypatch, reference_job, {})

    assert not success
    assert failed == [check]
    assert_unchanged(settings, lake, warehouse, skip=("raw",))


def test_a_landing_run_failing_after_its_bars_were_written_leaves_lake_and_warehouse_as_they_were(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`fin-assets ingest-landing` with a valid correction of a whole day (other bars than the
    history's): its run writes the day's intraday and daily bars, then risk_metrics' blocking
    check fails; nothing of the run is published (the landing file and its raw payload stay)."""
    monkeypatch.setenv("FIN_HOME", str(settings.home))
    monkeypatch.setenv("FIN_DAGSTER_PG_URL", settings.dagster_pg_url)
    lake, warehouse = lake_hashes(settings, skip=("raw",)), warehouse_rows(settings)
    [aapl] = [symbol for symbol in load_universe() if symbol.symbol == "AAPL"]
    bars = simulate_intraday(7, aapl, JAN3)
    lines = ["ts,open,high,low,close,volume"] + [
        f"{row.ts.isoformat()},{row.open!r},{row.high!r},{row.low!r},{row.close!r},{row.volume!r}"
        for row in bars.itertuples()
    ]
    key = "landing/AAPL/2025-01-03/correction.csv"
    ParquetLake(settings.lake_url).replace_object(key, "\n".join(lines).encode())
    original = compute_risk_metrics
    monkeypatch.setattr(
        "fin_assets.defs.risk.assets.compute_risk_metrics",
        lambda *args, **kwargs: with_inverted_var(original(*args, **kwargs)),
    )

    assert main(["ingest-landing"]) == 1

    assert f"{key}: failed" in capsys.readouterr().out
    assert_unchanged(settings, {**lake, key: sha256(key, settings)}, warehouse, skip=("raw",))


def sha256(key: str, settings: Settings) -> str:
    return hashlib.sha256((Path(settings.lake_url) / key).read_bytes()).hexdigest()
