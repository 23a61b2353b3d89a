"""Small tables show a preview of their rows; only the run's latest date carries it."""

from datetime import date
from pathlib import Path

from dagster import AssetKey, DagsterInstance

from fin_assets.definitions import build_definitions
from fin_assets.defs.common.partition_metadata import PREVIEW_ROWS
from fin_assets.resources.lake import ParquetLake
from fin_assets.settings import Settings
from fin_assets.shared.lake_io import calendar_dates
from fin_assets.shared.partitions import partition_values
from fin_assets_tests.spark.conftest import write_daily_bars

# A Friday after 60 sessions of history: the correlation windows are full.
START, END = date(2025, 3, 31), date(2025, 4, 4)
TABLES = ["portfolio_risk", "correlation_matrix", "fact_portfolio_risk", "fact_correlation"]


def markdown_rows(preview: str) -> list[list[str]]:
    lines = preview.splitlines()
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_the_portfolio_tables_preview_their_latest_date(tmp_path: Path) -> None:
    settings = Settings.local(tmp_path, "postgresql://postgres@127.0.0.1:5432/unused")
    write_daily_bars(
        ParquetLake(settings.lake_root), partition_values().symbols, date(2025, 1, 1), END
    )
    definitions = build_definitions(settings)
    with DagsterInstance.ephemeral() as instance:
        result = definitions.resolve_job_def("portfolio_job").execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": START.isoformat(),
                "dagster/asset_partition_range_end": END.isoformat(),
            },
        )
    assert result.success

    for name in TABLES:
        node = {"correlation_matrix": "portfolio_risk"}.get(name, name)
        events = [
            e for e in result.asset_materializations_for_node(node) if e.asset_key == AssetKey(name)
        ]
        assert sorted(str(e.partition) for e in events) == [
            str(d) for d in calendar_dates(START, END)
        ]
        previews = {
            str(e.partition): e.metadata["preview"].value for e in events if "preview" in e.metadata
        }
        assert list(previews) == [END.isoformat()], name
        table = markdown_rows(previews[END.isoformat()])
        assert "trade_date" in table[0], name
        rows = table[2:]
        assert 0 < len(rows) <= PREVIEW_ROWS, name
        dates = {row[table[0].index("trade_date")] for row in rows}
        assert dates == {END.isoformat()}, name


def test_dim_date_previews_the_dates_up_to_today(tmp_path: Path) -> None:
    definitions = build_definitions(
        Settings.local(tmp_path, "postgresql://postgres@127.0.0.1:5432/unused")
    )
    with DagsterInstance.ephemeral() as instance:
        result = definitions.resolve_job_def("reference_job").execute_in_process(instance=instance)
    assert result.success

    (event,) = result.asset_materializations_for_node("dim_date")
    table = markdown_rows(event.metadata["preview"].value)
    assert table[0][:2] == ["date_key", "date"]
    dates = [date.fromisoformat(row[1]) for row in table[2:]]
    assert len(dates) == PREVIEW_ROWS
    assert dates == sorted(dates) and dates[-1] == date.today()
