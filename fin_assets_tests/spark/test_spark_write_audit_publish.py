"""Write-audit-publish on the Spark paths (issue 16 item 5(b)): a staged run whose Spark step
fails a blocking check, or which fails after its Spark step wrote, leaves the lake exactly as it
was; a succeeding one publishes what its Spark steps wrote, computed from what the run staged.

Each run is a staged run (`execute_staged_in_process`, the convention of every launched run)
of the real assets with LocalSparkRunner (spark-submit local[2] through Dagster Pipes) and
`min_partitions=1`, so every range goes to Spark; the lake is compared file by file (SHA-256).
"""

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from dagster import (
    AssetCheckSeverity,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    BackfillPolicy,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    Failure,
    RunConfig,
    asset,
    define_asset_job,
)

from fin_assets.analytics.bars import aggregate_daily_bars
from fin_assets.analytics.indicators import compute_indicators
from fin_assets.analytics.schemas import DAILY_BARS, INDICATORS, INTRADAY_BARS
from fin_assets.defs.common.partition_ranges import rectangle_tags
from fin_assets.defs.common.partitions import graph_partitions
from fin_assets.defs.common.publish import execute_staged_in_process
from fin_assets.defs.operations.compaction import CompactionConfig, compacted_assets, compacted_key
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.spark_runner import LocalSparkRunner
from fin_assets.resources.storage import DuckDBWarehouseResource, LakeResource
from fin_assets.shared.lake_io import calendar_dates, write_symbol_partitions
from fin_assets.shared.partition_scope import PartitionScope
from fin_assets_tests.defs.test_publish import hashes
from fin_assets_tests.graph import asset_def
from fin_assets_tests.spark.conftest import (
    SYMBOLS,
    assert_same_columns,
    simulated_minutes,
    write_daily_bars,
)

pytestmark = [pytest.mark.slow, pytest.mark.spark]

# The history starts on HISTORY_START, so the range is each symbol's whole history.
START, END = date(2025, 1, 1), date(2025, 1, 12)
DATES = calendar_dates(START, END)
BROKEN_DAY = date(2025, 1, 6)
# The run's range: START..END × SYMBOLS, or START..END for the date-partitioned portfolio.
RECTANGLE = rectangle_tags(START, END, SYMBOLS[0], SYMBOLS[-1])
DATE_RANGE = {
    "dagster/asset_partition_range_start": START.isoformat(),
    "dagster/asset_partition_range_end": END.isoformat(),
}


def write_minutes(lake: ParquetLake, seed: int) -> pd.DataFrame:
    """The simulator's minutes of SYMBOLS over START..END (seed `seed`), written published."""
    minutes = pd.concat([simulated_minutes(s, START, END, seed) for s in SYMBOLS])
    scope = PartitionScope(tuple(DATES), SYMBOLS)
    write_symbol_partitions(lake, "intraday_bars", INTRADAY_BARS, minutes, scope)
    return minutes


@pytest.fixture
def lake_root(tmp_path: Path) -> Path:
    """A lake holding SYMBOLS' minutes and daily bars over START..END (seed 42)."""
    root = tmp_path / "lake"
    lake = ParquetLake(str(root))
    write_minutes(lake, seed=42)
    write_daily_bars(lake, SYMBOLS, START, END)
    return root


def run_staged(
    assets: Sequence[AssetsDefinition],
    lake_root: Path,
    tmp_path: Path,
    tags: Mapping[str, str] = RECTANGLE,
    **kwargs: object,
) -> ExecuteInProcessResult:
    """`assets` over the range of `tags` as one staged run, every range on Spark."""
    defs = Definitions(
        assets=list(assets),
        jobs=[define_asset_job("staged", selection=AssetSelection.assets(*assets))],
        resources={
            "lake": LakeResource(root=str(lake_root)),
            "warehouse": DuckDBWarehouseResource(path=str(tmp_path / "warehouse.duckdb")),
            "spark": LocalSparkRunner(master="local[2]", min_partitions=1),
        },
    )
    return execute_staged_in_process(
        defs.resolve_job_def("staged"),
        DagsterInstance.ephemeral(),
        tags=tags,
        raise_on_error=False,
        **kwargs,
    )


def failed_checks(result: ExecuteInProcessResult) -> list[str]:
    return [
        e.check_name
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == AssetCheckSeverity.ERROR
    ]


def test_a_failing_blocking_check_of_the_spark_history_job_leaves_the_lake_as_it_was(
    lake_root: Path, tmp_path: Path
) -> None:
    """A BTC day of minutes with negative volumes: the history job writes every daily bar of
    the range, then reports `non_negative_volume` failed; none of its writes is published."""
    lake = ParquetLake(str(lake_root))
    minutes = lake.read_partitions("intraday_bars", INTRADAY_BARS, [BROKEN_DAY], "BTC")
    broken = minutes.set_column(
        minutes.schema.get_field_index("volume"),
        "volume",
        pa.array([-1.0] * minutes.num_rows, minutes.schema.field("volume").type),
    )
    lake.write_partition("intraday_bars", broken, trade_date=BROKEN_DAY, symbol="BTC")
    before = hashes(lake_root)

    result = run_staged([asset_def("daily_bars")], lake_root, tmp_path)

    assert not result.success
    assert failed_checks(result) == ["non_negative_volume"]
    assert hashes(lake_root) == before


def test_a_run_failing_after_the_spark_portfolio_job_wrote_leaves_the_lake_as_it_was(
    lake_root: Path, tmp_path: Path
) -> None:
    """portfolio_risk and correlation_matrix (equal weights over the universe) are written by
    the cross-symbol job and pass their checks; a later step of the run fails: nothing of the
    run is published."""

    @asset(
        partitions_def=graph_partitions().date_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        deps=[AssetKey("portfolio_risk")],
    )
    def after_portfolio() -> None:
        raise Failure("a later step of the run fails")

    write_daily_bars(ParquetLake(str(lake_root)), graph_partitions().values.symbols, START, END)
    before = hashes(lake_root)

    result = run_staged(
        [asset_def("portfolio_risk"), after_portfolio], lake_root, tmp_path, DATE_RANGE
    )

    assert not result.success
    written = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {AssetKey("portfolio_risk"), AssetKey("correlation_matrix")} <= written
    assert hashes(lake_root) == before


def test_a_succeeding_run_publishes_what_its_spark_steps_computed_from_its_staged_inputs(
    lake_root: Path, tmp_path: Path
) -> None:
    """New minutes (another seed) in the lake: daily_bars on Spark stages the new daily bars,
    technical_indicators on Spark reads those (not the published ones) and both are published
    when the run succeeds, with nothing left in the staging."""
    minutes = write_minutes(ParquetLake(str(lake_root)), seed=7)
    expected_bars = pd.concat(
        [aggregate_daily_bars(minutes[minutes["symbol"] == s]) for s in SYMBOLS],
        ignore_index=True,
    )
    expected_indicators = pd.concat(
        [compute_indicators(expected_bars[expected_bars["symbol"] == s]) for s in SYMBOLS],
        ignore_index=True,
    )

    result = run_staged(
        [asset_def("daily_bars"), asset_def("technical_indicators")], lake_root, tmp_path
    )

    assert result.success
    lake = ParquetLake(str(lake_root))
    for dataset, schema, expected in [
        ("daily_bars", DAILY_BARS, expected_bars),
        ("technical_indicators", INDICATORS, expected_indicators),
    ]:
        actual = pd.concat(
            [lake.read_partitions(dataset, schema, DATES, s).to_pandas() for s in SYMBOLS],
            ignore_index=True,
        )
        assert len(actual) == len(expected) > 0
        assert_same_columns(actual, expected[schema.names].reset_index(drop=True))
    assert not any(key.startswith("_tmp_staging/") for key in hashes(lake_root))


def compaction_config(*datasets: str) -> RunConfig:
    config = CompactionConfig(start=START.isoformat(), end=END.isoformat(), symbols=list(SYMBOLS))
    return RunConfig(ops={compacted_key(dataset): config for dataset in datasets})


def test_a_compaction_run_failing_after_a_copy_was_written_leaves_the_lake_as_it_was(
    lake_root: Path, tmp_path: Path
) -> None:
    """daily_bars is compacted (its copy passes `matches_source`); the run's compaction of
    trading_signals fails (the lake holds none): no compacted copy is published."""
    before = hashes(lake_root)
    assets = [
        a
        for a in compacted_assets
        if a.key.path[0] in ("daily_bars_compacted", "trading_signals_compacted")
    ]

    result = run_staged(
        assets,
        lake_root,
        tmp_path,
        {},
        run_config=compaction_config("daily_bars", "trading_signals"),
    )

    assert not result.success
    written = {e.asset_key for e in result.get_asset_materialization_events()}
    assert written == {AssetKey("daily_bars_compacted")}
    assert hashes(lake_root) == before


def test_a_succeeding_compaction_run_publishes_one_file_per_symbol_year(
    lake_root: Path, tmp_path: Path
) -> None:
    """The published copy replaces the folder's files (here a stale file of an older copy) by
    the run's one file per symbol-year, holding the source rows."""
    stale = (
        lake_root / "compacted/daily_bars/symbol=BTC/year=2025/part-00000-old.c000.snappy.parquet"
    )
    stale.parent.mkdir(parents=True)
    stale.write_bytes(
        (lake_root / "daily_bars/symbol=BTC/trade_date=2025-01-02/part-0.parquet").read_bytes()
    )
    [asset] = [a for a in compacted_assets if a.key == AssetKey("daily_bars_compacted")]

    result = run_staged(
        [asset], lake_root, tmp_path, {}, run_config=compaction_config("daily_bars")
    )

    assert result.success
    copy = lake_root / "compacted" / "daily_bars"
    files = sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file())
    assert files == [f"symbol={s}/year=2025/part-0.parquet" for s in sorted(SYMBOLS)]
    lake = ParquetLake(str(lake_root))
    for symbol in SYMBOLS:
        source = lake.read_partitions("daily_bars", DAILY_BARS, DATES, symbol).to_pandas()
        compacted = pd.read_parquet(copy / f"symbol={symbol}/year=2025/part-0.parquet")
        assert_same_columns(compacted.reset_index(drop=True), source.drop(columns="symbol"))
    assert not any(key.startswith("_tmp_staging/") for key in hashes(lake_root))
