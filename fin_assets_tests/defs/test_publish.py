"""A run's staging (fin_assets.defs.common.publish): seen by the run only, published or discarded
whole, and collected after a crash by the next staged run."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus

from fin_assets.analytics.schemas import DAILY_BARS
from fin_assets.defs.common.publish import collect_abandoned, discard_run, publish_run
from fin_assets.resources.lake import STAGING_DIR, ParquetLake
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets_tests.warehouse.rows import daily_bars

D1, D2 = date(2024, 1, 2), date(2024, 1, 3)
RUN = "8c1f6a8e-0000-4000-8000-000000000001"
OTHER = "8c1f6a8e-0000-4000-8000-000000000002"


def bars(value: float, day: date = D1) -> pa.Table:
    return daily_bars([("AAPL", day, value)]).select(DAILY_BARS.names).cast(DAILY_BARS)


def closes(lake: ParquetLake, *days: date) -> list[float]:
    return lake.read_partitions("daily_bars", DAILY_BARS, days, symbol="AAPL")["open"].to_pylist()


def fact_opens(warehouse: DuckDBWarehouse) -> list[float]:
    return warehouse.query("SELECT open FROM fact_daily_bar ORDER BY trade_date")["open"].tolist()


def hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def lake(tmp_path: Path) -> ParquetLake:
    lake = ParquetLake(str(tmp_path / "lake"))
    lake.write_partition("daily_bars", bars(1.0), trade_date=D1, symbol="AAPL")
    return lake


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(str(tmp_path / "warehouse.duckdb"))
    warehouse.ensure_schema()
    warehouse.replace_range("fact_daily_bar", daily_bars([("AAPL", D1, 1.0)]), start=D1, end=D1)
    return warehouse


def stage(lake: ParquetLake, warehouse: DuckDBWarehouse, run_id: str) -> ParquetLake:
    """A run's lake staging a rewrite of D1 and a new D2, and its staged fact load."""
    staged = ParquetLake(lake.root, staging_run=run_id)
    staged.open_staging(run_id)
    staged.write_partition("daily_bars", bars(2.0), trade_date=D1, symbol="AAPL")
    staged.write_partition("daily_bars", bars(3.0, D2), trade_date=D2, symbol="AAPL")
    rows = daily_bars([("AAPL", D1, 2.0), ("AAPL", D2, 3.0)])
    warehouse.replace_range(
        "fact_daily_bar", rows, start=D1, end=D2, symbols=["AAPL"], staged_run=run_id
    )
    return staged


def test_a_staged_run_sees_its_writes_and_nobody_else_does(
    lake: ParquetLake, warehouse: DuckDBWarehouse
) -> None:
    staged = stage(lake, warehouse, RUN)

    assert closes(staged, D1, D2) == [2.0, 3.0]
    assert staged.existing_dates("daily_bars", "AAPL") == {D1, D2}
    fresh = ParquetLake(lake.root)
    assert closes(fresh, D1) == [1.0]
    assert fresh.existing_dates("daily_bars", "AAPL") == {D1}
    assert fresh.list_objects("") == ["daily_bars/symbol=AAPL/trade_date=2024-01-02/part-0.parquet"]
    assert fact_opens(warehouse) == [1.0]


def test_publishing_moves_the_files_and_applies_the_loads(
    lake: ParquetLake, warehouse: DuckDBWarehouse
) -> None:
    stage(lake, warehouse, RUN)

    assert publish_run(lake, warehouse, RUN) == 2

    fresh = ParquetLake(lake.root)
    assert closes(fresh, D1, D2) == [2.0, 3.0]
    assert fact_opens(warehouse) == [2.0, 3.0]
    assert not (Path(lake.root) / STAGING_DIR / RUN).exists()
    assert warehouse.query("SELECT count(*) AS n FROM wap.staged_loads")["n"][0] == 0


def test_discarding_leaves_lake_and_warehouse_as_they_were(
    lake: ParquetLake, warehouse: DuckDBWarehouse
) -> None:
    before = hashes(Path(lake.root))
    stage(lake, warehouse, RUN)

    discard_run(lake, warehouse, RUN)

    assert hashes(Path(lake.root)) == before
    assert fact_opens(warehouse) == [1.0]
    assert (
        warehouse.query(
            "SELECT count(*) AS n FROM information_schema.tables "
            "WHERE table_schema = 'wap' AND table_name <> 'staged_loads'"
        )["n"][0]
        == 0
    )


def test_an_uncommitted_run_cannot_be_published_by_the_lake(
    lake: ParquetLake, warehouse: DuckDBWarehouse
) -> None:
    stage(lake, warehouse, RUN)

    with pytest.raises(ValueError, match="not committed"):
        lake.publish_staged(RUN)


@pytest.mark.parametrize(
    ("crash_after", "published"),
    [("staging", False), ("warehouse", True), ("commit", True), ("one move", True)],
)
def test_the_next_run_collects_a_crashed_runs_staging(
    lake: ParquetLake, warehouse: DuckDBWarehouse, crash_after: str, published: bool
) -> None:
    """A run dies at some point of its publication; the next staged run finishes or discards."""
    before = hashes(Path(lake.root))
    stage(lake, warehouse, RUN)
    if crash_after != "staging":
        warehouse.publish_staged(RUN)
    if crash_after in ("commit", "one move"):
        lake.commit_staged(RUN)
    if crash_after == "one move":
        staged = (
            Path(lake.root) / STAGING_DIR / RUN / "daily_bars/symbol=AAPL/trade_date=2024-01-03"
        )
        target = Path(lake.root) / "daily_bars/symbol=AAPL/trade_date=2024-01-03"
        target.mkdir(parents=True)
        (staged / "part-0.parquet").rename(target / "part-0.parquet")
    instance = DagsterInstance.ephemeral()

    assert collect_abandoned(lake, warehouse, instance, OTHER) == [RUN]

    if published:
        assert closes(ParquetLake(lake.root), D1, D2) == [2.0, 3.0]
        assert fact_opens(warehouse) == [2.0, 3.0]
    else:
        assert hashes(Path(lake.root)) == before
        assert fact_opens(warehouse) == [1.0]
    assert lake.staged_runs() == {}


def test_the_staging_of_runs_in_progress_and_of_the_current_run_is_left_alone(
    lake: ParquetLake, warehouse: DuckDBWarehouse
) -> None:
    stage(lake, warehouse, RUN)
    ParquetLake(lake.root).open_staging(OTHER)
    instance = DagsterInstance.ephemeral()
    instance.add_run(DagsterRun(job_name="job", run_id=RUN, status=DagsterRunStatus.STARTED))

    assert collect_abandoned(lake, warehouse, instance, OTHER) == []

    assert lake.staged_runs() == {OTHER: False, RUN: False}
    assert fact_opens(warehouse) == [1.0]
