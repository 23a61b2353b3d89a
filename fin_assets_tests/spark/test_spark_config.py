"""Fast checks of the Spark runners' configuration and the jobs' argument handling (no JVM)."""

import io
import zipfile
from datetime import date
from importlib.metadata import version

import pytest

from fin_assets.defs.partitions import SYMBOLS
from fin_assets.resources.spark_emr import code_archive, requirements, split_s3_uri
from fin_assets.resources.spark_runner import LocalSparkRunner, SparkJob
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
    assert parse_weights("") == {symbol: 1 / len(SYMBOLS) for symbol in SYMBOLS}
    assert parse_weights("AAPL=0.5,BTC=0.5") == {
        symbol: {"AAPL": 0.5, "BTC": 0.5}.get(symbol, 0.0) for symbol in SYMBOLS
    }
    with pytest.raises(ValueError, match="weights must look like"):
        parse_weights("AAPL:1")
