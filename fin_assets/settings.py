"""Where fin_assets keeps its local state, read once from the environment.

Every piece of local state lives under one folder, FIN_HOME (default `~/.fin_assets`):
`lake/` (Parquet lake), `warehouse/fin_assets.duckdb` (DuckDB warehouse) and `dagster_home/`
(the Dagster instance, so runs made from the CLI appear in `dagster dev`).

Environment variables:
- FIN_HOME: the state folder.
- FIN_ENV: `local` (default; offline, synthetic data, local lake, DuckDB) or `prod`.
- FIN_SEED: seed of the synthetic market (default 42).
- FIN_DAGSTER_STORAGE: `postgres` (default) or `sqlite` for the Dagster instance.
- FIN_DAGSTER_PG_URL: the Postgres URL of the instance
  (default postgresql://postgres@127.0.0.1:5432/fin_assets).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENVIRONMENTS = ("local", "prod")
DAGSTER_STORAGES = ("postgres", "sqlite")


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one process."""

    home: Path
    env: str
    seed: int
    dagster_storage: str
    dagster_pg_url: str

    @property
    def lake_root(self) -> Path:
        return self.home / "lake"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse" / "fin_assets.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster_home"


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = os.environ.get(name, default)
    if value not in allowed:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(allowed)}")
    return value


def get_settings() -> Settings:
    """Read the settings from the environment (see the module docstring)."""
    home = Path(os.environ.get("FIN_HOME", Path.home() / ".fin_assets")).expanduser().resolve()
    return Settings(
        home=home,
        env=_choice("FIN_ENV", "local", ENVIRONMENTS),
        seed=int(os.environ.get("FIN_SEED", "42")),
        dagster_storage=_choice("FIN_DAGSTER_STORAGE", "postgres", DAGSTER_STORAGES),
        dagster_pg_url=os.environ.get(
            "FIN_DAGSTER_PG_URL", "postgresql://postgres@127.0.0.1:5432/fin_assets"
        ),
    )
