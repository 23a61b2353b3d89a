"""What the Dagster UI shows about every asset: columns, where it lives, owners, code version.

`with_catalog` is applied centrally in `build_definitions`, like automation, so the asset
modules keep only their computation. Each asset gets:
- `dagster/column_schema`: its columns and Arrow types from the one schema source
  (fin_assets.analytics.schemas for the lake datasets, fin_assets.warehouse.model for the
  warehouse tables, whose facts are derived from the former), with the key columns marked;
- `dagster/table_name` for a warehouse table (the active engine's qualified name) and
  `dagster/uri` for a lake dataset (the folder of its partitions, `file://` or `s3://`);
- owners by group (OWNERS_BY_GROUP);
- a code version: the SHA-256 prefix of the source of the module defining the asset and of
  every fin_assets module it imports, directly or not (imports inside functions included). It
  changes exactly when code the asset can run changes, so Dagster flags materializations made
  by older code;
- only the active warehouse engine's kind (the warehouse assets declare both).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pyarrow as pa
from dagster import (
    AssetsDefinition,
    AssetSpec,
    TableColumn,
    TableColumnConstraints,
    TableConstraints,
    TableSchema,
)

from fin_assets.analytics import schemas
from fin_assets.defs.operations.compaction import COMPACTION_GROUP, compacted_key
from fin_assets.settings import Settings, environ
from fin_assets.warehouse.model import TABLES
from spark_resources.compactable import COMPACTABLE

# Lake datasets written by the assets of the same name, with their natural key.
LAKE_DATASETS: dict[str, tuple[pa.Schema, tuple[str, ...]]] = {
    "intraday_bars": (schemas.INTRADAY_BARS, ("symbol", "ts")),
    "daily_bars": (schemas.DAILY_BARS, ("symbol", "trade_date")),
    "technical_indicators": (schemas.INDICATORS, ("symbol", "trade_date")),
    "trading_signals": (schemas.SIGNALS, ("symbol", "trade_date", "signal")),
    "anomalies": (schemas.ANOMALIES, ("symbol", "trade_date", "anomaly")),
    "risk_metrics": (schemas.RISK, ("symbol", "trade_date")),
    "portfolio_risk": (schemas.PORTFOLIO_RISK, ("trade_date",)),
    "correlation_matrix": (schemas.CORRELATION, ("trade_date", "symbol_a", "symbol_b")),
}
# Lake folders (relative to their zone's root) of the assets that are not tabular datasets.
LAKE_FOLDERS = {"raw_quotes": "raw", "market_report": "reports/market_report"}
OWNERS_BY_GROUP = {
    "ingest": ["team:market-data"],
    "bars": ["team:market-data"],
    "streaming": ["team:market-data"],
    "analytics": ["team:quant-research"],
    "risk": ["team:quant-research"],
    "report": ["team:quant-research"],
    "warehouse": ["team:data-platform"],
    COMPACTION_GROUP: ["team:data-platform"],
}
WAREHOUSE_ENGINES = {"duckdb", "snowflake"}
PACKAGE = "fin_assets"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
FROM_IMPORT = re.compile(rf"^\s*from\s+({PACKAGE}[\w.]*)\s+import\s+(\([^)]*\)|[^\n]+)", re.M)
PLAIN_IMPORT = re.compile(rf"^\s*import\s+({PACKAGE}[\w.]*)", re.M)


def column_schema(
    schema: pa.Schema, key: Sequence[str], not_null: Sequence[str] | None = None
) -> TableSchema:
    """Dagster's column schema of an Arrow schema; the `not_null` columns (default: the key)
    are non-nullable."""
    required = key if not_null is None else not_null
    return TableSchema(
        columns=[
            TableColumn(
                name=field.name,
                type=str(field.type),
                constraints=TableColumnConstraints(nullable=field.name not in required),
            )
            for field in schema
        ],
        constraints=TableConstraints(other=[f"unique ({', '.join(key)})"]),
    )


def table_name(settings: Settings, table: str) -> str:
    """The qualified name of a warehouse table on the active engine: DuckDB's
    `<file stem>.main.<table>`, Snowflake's `<DATABASE>.<SCHEMA>.<TABLE>` from the variables
    its resource requires (unquoted names are stored upper case)."""
    if settings.warehouse == "duckdb":
        return f"{settings.warehouse_path.stem}.main.{table}"
    variables = environ()
    database, schema = variables["SNOWFLAKE_DATABASE"], variables["SNOWFLAKE_SCHEMA"]
    return f"{database}.{schema}.{table}".upper()


def folder_uri(root: str, folder: str) -> str:
    """URI of a lake folder: `s3://bucket/prefix/folder` or `file:///path/folder`."""
    if "://" in root:
        return f"{root.rstrip('/')}/{folder}"
    return (Path(root).resolve() / folder).as_uri()


@cache
def _module_file(name: str) -> Path | None:
    """The source file of fin_assets module `name` (None if it names no module, e.g. a
    function imported from a module)."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def _imported_modules(name: str) -> frozenset[str]:
    """The fin_assets modules that module `name` imports anywhere in its source (a text scan:
    parsing every module's syntax tree made loading the code location 1 s slower)."""
    path = _module_file(name)
    if path is None:
        return frozenset()
    source = path.read_text()
    found: set[str] = set(PLAIN_IMPORT.findall(source))
    for module, names in FROM_IMPORT.findall(source):
        found.add(module)
        # `from package import module` imports a module too.
        listed = re.sub(r"#[^\n]*", "", names).strip("()").split(",")
        found.update(f"{module}.{n.split()[0]}" for n in listed if n.strip())
    return frozenset(m for m in found if _module_file(m))


def source_modules(module: str) -> set[str]:
    """`module` and every fin_assets module it imports, directly or not."""
    reached: set[str] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        if name not in reached:
            reached.add(name)
            pending.extend(_imported_modules(name) - reached)
    return reached


@cache
def code_version(module: str) -> str:
    """SHA-256 prefix of the sources of `source_modules(module)`, in name order."""
    digest = hashlib.sha256()
    for name in sorted(source_modules(module)):
        path = _module_file(name)
        if path is not None:
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _defining_module(assets_def: AssetsDefinition) -> str:
    """The module of the function that computes the asset (the graph's ops' for raw_quotes)."""
    node = assets_def.node_def
    ops = list(node.iterate_op_defs()) if hasattr(node, "iterate_op_defs") else [node]
    return ops[-1].compute_fn.decorated_fn.__module__


def _location_metadata(settings: Settings, key: str) -> dict[str, object]:
    if key in TABLES:
        spec = TABLES[key]
        return {
            "dagster/column_schema": column_schema(spec.stored_schema, spec.key, spec.not_null),
            "dagster/table_name": table_name(settings, key),
        }
    for dataset in COMPACTABLE:
        if key == compacted_key(dataset):
            schema, dataset_key = LAKE_DATASETS[dataset]
            return {
                "dagster/column_schema": column_schema(schema, dataset_key),
                "dagster/uri": folder_uri(settings.lake_root, f"compacted/{dataset}"),
            }
    if key in LAKE_DATASETS:
        schema, dataset_key = LAKE_DATASETS[key]
        return {
            "dagster/column_schema": column_schema(schema, dataset_key),
            "dagster/uri": folder_uri(settings.lake_root, key),
        }
    if key == "raw_quotes":
        return {"dagster/uri": folder_uri(settings.raw_root, LAKE_FOLDERS[key])}
    if key in LAKE_FOLDERS:
        return {"dagster/uri": folder_uri(settings.lake_root, LAKE_FOLDERS[key])}
    return {}


def with_catalog(assets: Sequence[AssetsDefinition], settings: Settings) -> list[AssetsDefinition]:
    """The assets with their column schema, location, owners, code version and active kinds."""

    def catalogued(assets_def: AssetsDefinition) -> AssetsDefinition:
        version = code_version(_defining_module(assets_def))

        def with_attributes(spec: AssetSpec) -> AssetSpec:
            key = spec.key.to_user_string()
            kinds = set(spec.kinds)
            if kinds >= WAREHOUSE_ENGINES:
                kinds = kinds - WAREHOUSE_ENGINES | {settings.warehouse}
            return spec.replace_attributes(
                metadata={**spec.metadata, **_location_metadata(settings, key)},
                owners=OWNERS_BY_GROUP.get(spec.group_name or "", []),
                code_version=version,
                kinds=kinds,
            )

        return assets_def.map_asset_specs(with_attributes)

    return [catalogued(a) for a in assets]
