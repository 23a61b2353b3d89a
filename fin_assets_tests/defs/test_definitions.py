"""The code location loads, every asset is checked, partitions stay within Dagster's limits."""

import os
import subprocess
import sys

from dagster import AssetKey, MultiPartitionsDefinition

from fin_assets.definitions import defs
from fin_assets.defs.common.partitions import graph_partitions
from fin_assets_tests.defs.test_jobs import JOB_ASSETS

# Every asset belongs to a job (test_jobs.JOB_ASSETS, the one list of the graph's assets).
EXPECTED_ASSETS = set().union(*JOB_ASSETS.values())


def test_definitions_load_with_every_layer() -> None:
    keys = {spec.key.to_user_string() for spec in defs().resolve_all_asset_specs()}
    assert keys == EXPECTED_ASSETS
    for job in ("symbol_history_job", "portfolio_job", "reference_job"):
        assert defs().resolve_job_def(job).name == job


def test_every_asset_has_a_check() -> None:
    graph = defs().resolve_asset_graph()
    checked = {key.asset_key for key in graph.asset_check_keys}
    assert {AssetKey(name) for name in EXPECTED_ASSETS} <= checked


def test_bar_checks_that_poison_downstream_are_blocking() -> None:
    graph = defs().resolve_asset_graph()
    blocking = {
        (key.asset_key.to_user_string(), key.name)
        for key in graph.asset_check_keys
        if graph.get_check_spec(key).blocking
    }
    for asset in ("intraday_bars", "daily_bars"):
        for check in ("ohlc_consistency", "unique_key", "positive_prices", "schema"):
            assert (asset, check) in blocking
    assert ("risk_metrics", "var_ordering") in blocking
    assert ("technical_indicators", "rsi_range") in blocking


def test_partitions_are_date_by_static_symbol_under_dagster_limit() -> None:
    partitions = graph_partitions()
    date_symbol_partitions = partitions.date_symbol_partitions
    assert isinstance(date_symbol_partitions, MultiPartitionsDefinition)
    symbol_keys = date_symbol_partitions.get_partitions_def_for_dimension("symbol")
    assert tuple(symbol_keys.get_partition_keys()) == partitions.values.symbols
    first = date_symbol_partitions.get_partition_keys()[0]
    assert first.keys_by_dimension["date"] == partitions.values.history_start.isoformat()
    assert len(date_symbol_partitions.get_partition_keys()) < 100_000


def test_code_location_loads_without_spark_cloud_sdks_or_plotly(tmp_path) -> None:
    """Every run process loads the code location: pyspark, boto3 and plotly (1.3 s of imports
    together) wait until a Spark job, an AWS call or the report needs them."""
    probe = (
        "import sys, fin_assets.definitions; "
        "print(sorted(m for m in ('pyspark', 'boto3', 'plotly') if m in sys.modules))"
    )
    environment = os.environ | {"FIN_HOME": str(tmp_path / "fin_home")}

    loaded = subprocess.run(
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True
    )

    assert loaded.stdout.strip() == "[]"
