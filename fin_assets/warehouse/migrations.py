"""Numbered, idempotent schema migrations per engine, recorded in `schema_migrations`.

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

SQL_ROOT = Path(__file__).with_name("sql")
ENGINES = ("duckdb", "snowflake")
_FILE = re.compile(r"(\d{3})_([a-z0-9_]+)\.sql")
_TOKEN = re.compile(r"\{([a-z_]+)\}")
_STATEMENT_END = re.compile(r";[ \t]*$", re.MULTILINE)

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


def _statements(text: str, variables: Mapping[str, str], path: Path) -> tuple[str, ...]:
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
    found: dict[int, Migration] = {}
    for folder in (SQL_ROOT / "common", SQL_ROOT / engine):
        for path in sorted(folder.glob("*.sql")):
            match = _FILE.fullmatch(path.name)
            if match is None:
                raise MigrationError(f"{path}: expected a name like 001_star_schema.sql")
            version = int(match.group(1))
            if version in found:
                raise MigrationError(f"{path}: version {version} is defined twice")
            text = path.read_text()
            found[version] = Migration(
                version=version,
                name=match.group(2),
                statements=_statements(text, variables, path),
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
