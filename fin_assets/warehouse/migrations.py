"""Numbered, idempotent schema migrations per engine, recorded in `schema_migrations`.

Migration 001 (`star_schema`) is generated from the model (fin_assets.warehouse.ddl): every
table with the columns it has today. It keeps the checksum of the hand-written file it
replaced (STAR_SCHEMA_CHECKSUMS), so a warehouse that file created still validates; it only
creates what is absent, so a change to the model needs a new migration for the warehouses that
exist (`ADD COLUMN IF NOT EXISTS`, as 003 and 004 do).

Files: `sql/<engine>/NNN_name.sql` and `sql/common/NNN_name.sql` (the same SQL for every
engine); a version number is unique across the two folders. A migration is a list of
statements separated by `;` at the end of a line. Statements only ever create what is absent
(`CREATE ... IF NOT EXISTS`), never `CREATE OR REPLACE` a table, so re-running a migration
after a crash half-way is harmless. `{name}` tokens are replaced by the engine's variables
(e.g. `{materialized_view}`); the checksum is taken over the file as written, so a variable
does not make an applied migration look edited. Editing an applied file is an error: changes
go into a new numbered file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fin_assets.warehouse.ddl import star_schema

SQL_ROOT = Path(__file__).with_name("sql")
ENGINES = ("duckdb", "snowflake")
_FILE = re.compile(r"(\d{3})_([a-z0-9_]+)\.sql")
_TOKEN = re.compile(r"\{([a-z_]+)\}")
_STATEMENT_END = re.compile(r";[ \t]*$", re.MULTILINE)

# The sha256 of the hand-written sql/<engine>/001_star_schema.sql, which warehouses created
# before the DDL was generated recorded (fin_assets_tests/warehouse/hand_written_001/).
STAR_SCHEMA_CHECKSUMS = {
    "duckdb": "339fd2365bfa1c531b68656b95860dd2e480531641c04d0585326c7d1bdfd84b",
    "snowflake": "e97cc9df887d528057974736aacd74cedf32fb9783800c9912a57d459aecf006",
}

MIGRATIONS_TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER NOT NULL PRIMARY KEY, name VARCHAR NOT NULL, "
    "checksum VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
)


class MigrationError(RuntimeError):
    """The database's recorded migrations do not match the migration files."""


@dataclass(frozen=True)
class Migration:
    """One numbered migration, rendered for an engine."""

    version: int
    name: str
    statements: tuple[str, ...]
    checksum: str


def statements(text: str, variables: Mapping[str, str], path: Path) -> tuple[str, ...]:
    """The statements of a migration file's text, `{name}` tokens taken from `variables`."""
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) not in variables:
            raise MigrationError(f"{path.name}: no value for {{{match.group(1)}}}")
        return variables[match.group(1)]

    rendered = _TOKEN.sub(substitute, code)
    return tuple(part.strip() for part in _STATEMENT_END.split(rendered) if part.strip())


def migrations(engine: str, variables: Mapping[str, str]) -> list[Migration]:
    """The migrations of `engine` in version order, `{name}` tokens taken from `variables`."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; known: {ENGINES}")
    found = {1: Migration(1, "star_schema", star_schema(engine), STAR_SCHEMA_CHECKSUMS[engine])}
    for folder in (SQL_ROOT / "common", SQL_ROOT / engine):
        for path in sorted(folder.glob("*.sql")):
            match = _FILE.fullmatch(path.name)
            if match is None:
                raise MigrationError(f"{path}: expected a name like 002_marts.sql")
            version = int(match.group(1))
            if version in found:
                raise MigrationError(f"{path}: version {version} is defined twice")
            text = path.read_text()
            found[version] = Migration(
                version=version,
                name=match.group(2),
                statements=statements(text, variables, path),
                checksum=hashlib.sha256(text.encode()).hexdigest(),
            )
    return [found[version] for version in sorted(found)]


def pending(known: list[Migration], applied: Mapping[int, str]) -> list[Migration]:
    """The migrations not applied yet; MigrationError if the applied ones disagree with files.

    `applied` maps each recorded version to its checksum.
    """
    by_version = {m.version: m for m in known}
    unknown = sorted(set(applied) - set(by_version))
    if unknown:
        raise MigrationError(f"the database has migrations {unknown} that this code does not know")
    edited = [v for v, checksum in applied.items() if by_version[v].checksum != checksum]
    if edited:
        raise MigrationError(
            f"migrations {sorted(edited)} changed after they were applied: add a new migration"
        )
    return [m for m in known if m.version not in applied]
