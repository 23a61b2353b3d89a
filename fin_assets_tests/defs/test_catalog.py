"""What the UI shows of each asset: columns from the one schema source, table or lake location,
owners, a code version tracking the code the asset runs, and the active engine's kind only."""

from dataclasses import replace
from pathlib import Path

import pytest

from fin_assets.analytics import schemas
from fin_assets.definitions import build_definitions
from fin_assets.defs.catalog import LAKE_DATASETS, code_version, source_modules
from fin_assets.settings import Settings
from fin_assets.warehouse.model import TABLES

POSTGRES = "postgresql://postgres@127.0.0.1:5432/unused"


def nodes(settings: Settings) -> dict:
    graph = build_definitions(settings).resolve_asset_graph()
    return {key.to_user_string(): graph.get(key) for key in graph.get_all_asset_keys()}


def columns(node) -> list[tuple[str, str]]:
    return [(c.name, c.type) for c in node.metadata["dagster/column_schema"].columns]


def test_every_dataset_and_table_has_the_schema_sources_columns(tmp_path: Path) -> None:
    catalog = nodes(Settings.local(tmp_path, POSTGRES))

    lake = {name: schema for name, (schema, _) in LAKE_DATASETS.items()}
    assert lake["daily_bars"] is schemas.DAILY_BARS
    for name, schema in lake.items():
        assert columns(catalog[name]) == [(f.name, str(f.type)) for f in schema], name
        assert catalog[name].metadata["dagster/uri"] == (tmp_path / "lake" / name).as_uri()
        if f"{name}_compacted" in catalog:
            assert columns(catalog[f"{name}_compacted"]) == columns(catalog[name])
    for table, spec in TABLES.items():
        if table in catalog:
            assert columns(catalog[table]) == [(f.name, str(f.type)) for f in spec.stored_schema]
            assert catalog[table].metadata["dagster/table_name"] == f"fin_assets.main.{table}"
    # The lake's figures and the table loaded from them share their columns' definitions (the
    # table adds its bar lineage column).
    assert columns(catalog["fact_risk"]) == [
        c for c in columns(catalog["risk_metrics"]) if c[0] != "close"
    ] + [("bars_changed_at", "timestamp[us]")]
    assert catalog["raw_quotes"].metadata["dagster/uri"] == (tmp_path / "lake" / "raw").as_uri()


def test_every_asset_has_owners_a_code_version_and_one_engine_kind(tmp_path: Path) -> None:
    catalog = nodes(Settings.local(tmp_path, POSTGRES))

    for name, node in catalog.items():
        assert node.owners, name
        assert node.code_version and len(node.code_version) == 16, name
        assert not {"duckdb", "snowflake"} <= node.kinds, name
    assert catalog["fact_daily_bar"].kinds == {"duckdb"}
    assert catalog["dim_symbol"].kinds == {"duckdb"}
    assert catalog["stream_landing_status"].kinds == {"kafka"}
    assert catalog["risk_metrics"].owners == ["team:quant-research"]


def test_snowflake_assets_show_the_snowflake_kind_and_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "SNOWFLAKE_ACCOUNT": "acme",
        "SNOWFLAKE_USER": "loader",
        "SNOWFLAKE_PASSWORD": "secret",
        "SNOWFLAKE_DATABASE": "fin",
        "SNOWFLAKE_SCHEMA": "marts",
    }.items():
        monkeypatch.setenv(name, value)
    settings = replace(Settings.local(tmp_path, POSTGRES), warehouse="snowflake")

    catalog = nodes(settings)

    assert catalog["fact_risk"].kinds == {"snowflake"}
    assert catalog["fact_risk"].metadata["dagster/table_name"] == "FIN.MARTS.FACT_RISK"


def test_code_version_covers_every_module_the_asset_can_run() -> None:
    report = source_modules("fin_assets.defs.warehouse.report")
    # Imported inside the asset function, and through the dashboard.
    assert {"fin_assets.warehouse.dashboard", "fin_assets.analytics.risk"} <= report
    indicators = source_modules("fin_assets.defs.analytics.assets")
    assert "fin_assets.analytics.indicators" in indicators
    assert "fin_assets.warehouse.dashboard" not in indicators
    report_version = code_version("fin_assets.defs.warehouse.report")
    assert code_version("fin_assets.defs.analytics.assets") != report_version
