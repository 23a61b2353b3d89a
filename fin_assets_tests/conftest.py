"""Shared fixtures: a throw-away FIN_HOME with its own Postgres database for the instance."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fin_assets.instance import drop_postgres_database, ensure_postgres_database
from fin_assets.settings import Settings

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def fin_settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings of an empty FIN_HOME whose Dagster instance is a fresh Postgres database."""
    database = f"fin_assets_test_{uuid.uuid4().hex[:12]}"
    settings = Settings(
        home=tmp_path / "fin_home",
        env="local",
        seed=42,
        dagster_storage="postgres",
        dagster_pg_url=f"{POSTGRES_SERVER}/{database}",
    )
    ensure_postgres_database(settings.dagster_pg_url)
    yield settings
    drop_postgres_database(settings.dagster_pg_url)
