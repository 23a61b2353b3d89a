"""Fast checks of the Spark runners' configuration and the jobs' argument handling (no JVM)."""

import io
import zipfile
from datetime import UTC, date, datetime
from importlib.metadata import version

import pytest
from dagster import build_schedule_context, validate_run_config

from fin_assets.definitions import defs
from fin_assets.defs.operations.compaction import (
    CompactionConfig,
    compaction_job,
    lake_compaction_schedule,
)
from fin_assets.resources.spark_emr import (
    code_archive,
    emr_runner_from_env,
    requirements,
    split_s3_uri,
)
from fin_assets.resources.spark_runner import LocalSparkRunner, SparkJob
from fin_assets.settings import environ
from fin_assets.shared.partitions import partition_values
from spark_resources.cross_symbol_job import parse_weights
from spark_resources.history_job import scope_of


def test_runs_go_to_spark_from_min_partitions_on() -> None:
    runner = LocalSparkRunner(min_partitions=3650)
    assert not runner.use_spark(3649)
    assert runner.use_spark(3650)


def test_an_unknown_entry_point_is_refused() -> None:
    with pytest.raises(ValueError, match=r"no Spark entry point 'nope\.py'"):
        _ = SparkJob("nope.py", ()).local_path


def test_code_archive_holds_both_packages_and_the_universe_file() -> None:
    names = zipfile.ZipFile(io.BytesIO(code_archive())).namelist()
    assert {
        "fin_assets/universe/universe.yaml",
        "spark_resources/history_job.py",
        "spark_resources/cross_symbol_job.py",
        "fin_assets/analytics/indicators.py",
    } <= set(names)
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_requirements_pin_the_installed_versions_without_pyspark() -> None:
    lines = requirements().splitlines()
    assert f"pandas=={version('pandas')}" in lines
    assert f"ta-lib=={version('ta-lib')}" in lines
    assert not [line for line in lines if line.startswith("pyspark")]


def test_s3_uris_are_split_and_other_uris_refused() -> None:
    assert split_s3_uri("s3://bucket/a/b/") == ("bucket", "a/b")
    assert split_s3_uri("s3://bucket") == ("bucket", "")
    with pytest.raises(ValueError, match="expected an s3://bucket/prefix URI"):
        split_s3_uri("/local/folder")


def test_history_scope_takes_universe_symbols_in_universe_order() -> None:
    scope = scope_of(date(2025, 1, 1), date(2025, 1, 3), "BTC,AAPL")
    assert scope.symbols == ("AAPL", "BTC")
    assert scope.dates == (date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3))
    with pytest.raises(ValueError, match="universe symbols"):
        scope_of(date(2025, 1, 1), date(2025, 1, 3), "AAPL,NOPE")
    with pytest.raises(ValueError, match="after end"):
        scope_of(date(2025, 1, 3), date(2025, 1, 1), "AAPL")


def test_weights_resolve_like_the_portfolio_config() -> None:
    assert parse_weights("") == {
        symbol: 1 / len(partition_values().symbols) for symbol in partition_values().symbols
    }
    assert parse_weights("AAPL=0.5,BTC=0.5") == {
        symbol: {"AAPL": 0.5, "BTC": 0.5}.get(symbol, 0.0) for symbol in partition_values().symbols
    }
    with pytest.raises(ValueError, match="weights must look like"):
        parse_weights("AAPL:1")


def test_emr_runner_reads_the_deployment_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environment = {
        "FIN_SPARK_STAGING_URI": "s3://lake-bucket/spark/staging",
        "FIN_EMR_SERVICE_ROLE": "fin-assets-prod-emr-service",
        "FIN_EMR_INSTANCE_PROFILE": "fin-assets-prod-emr-instance",
        "FIN_EMR_SECURITY_CONFIGURATION": "fin-assets-prod-emr",
        "FIN_EMR_SUBNET_IDS": "subnet-0a,subnet-0b",
        "FIN_EMR_LOG_URI": "s3://lake-bucket/spark/logs/",
        "AWS_REGION": "eu-west-1",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    runner = emr_runner_from_env(environ(), min_partitions=7).process_config_and_initialize()
    assert (runner.service_role, runner.instance_profile, runner.security_configuration) == (
        "fin-assets-prod-emr-service",
        "fin-assets-prod-emr-instance",
        "fin-assets-prod-emr",
    )
    assert runner.subnet_ids == ["subnet-0a", "subnet-0b"]
    assert (runner.log_uri, runner.region, runner.min_partitions) == (
        "s3://lake-bucket/spark/logs/",
        "eu-west-1",
        7,
    )
    # Optional settings left unset keep the runner's defaults.
    for name in ("FIN_EMR_SUBNET_IDS", "FIN_EMR_LOG_URI", "AWS_REGION"):
        monkeypatch.delenv(name)
    runner = emr_runner_from_env(environ()).process_config_and_initialize()
    assert (runner.subnet_ids, runner.log_uri, runner.region) == ([], None, None)


def test_compaction_job_takes_universe_symbols_and_a_valid_range() -> None:
    job = compaction_job(
        "/lake", "daily_bars", CompactionConfig(start="2025-03-01", end="2025-03-31")
    )
    assert job.script == "compaction_job.py"
    assert job.arguments == (
        "--lake-root",
        "/lake",
        "--dataset",
        "daily_bars",
        "--start",
        "2025-03-01",
        "--end",
        "2025-03-31",
        "--symbols",
        ",".join(partition_values().symbols),
    )
    some = compaction_job(
        "/lake",
        "daily_bars",
        CompactionConfig(start="2025-03-01", end="2025-03-01", symbols=["BTC", "AAPL"]),
    )
    assert some.arguments[-1] == "AAPL,BTC"
    with pytest.raises(ValueError, match="outside the universe: NOPE"):
        compaction_job(
            "/lake",
            "daily_bars",
            CompactionConfig(start="2025-03-01", end="2025-03-01", symbols=["NOPE"]),
        )
    with pytest.raises(ValueError, match="after end"):
        compaction_job(
            "/lake", "daily_bars", CompactionConfig(start="2025-03-02", end="2025-03-01")
        )


def test_weekly_compaction_covers_the_past_week_of_every_dataset() -> None:
    tick = datetime(2026, 1, 4, 4, tzinfo=UTC)
    request = lake_compaction_schedule(build_schedule_context(scheduled_execution_time=tick))
    assert request.run_key == "2026-01-04"
    ops = request.run_config["ops"]
    assert set(ops) == {
        "intraday_bars_compacted",
        "daily_bars_compacted",
        "technical_indicators_compacted",
        "trading_signals_compacted",
        "risk_metrics_compacted",
    }
    assert {op["config"]["start"] for op in ops.values()} == {"2025-12-28"}
    assert {op["config"]["end"] for op in ops.values()} == {"2026-01-03"}
    job = defs().resolve_job_def("lake_compaction_job")
    assert validate_run_config(job, request.run_config)["ops"].keys() == ops.keys()
