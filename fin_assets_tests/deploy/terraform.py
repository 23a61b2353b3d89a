"""Read terraform/ with python-hcl2: blocks by type, names and strings without HCL quotes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2

from fin_assets_tests.deploy.dockerfile import REPOSITORY

TERRAFORM = REPOSITORY / "terraform"
MODULES = ("s3_lake", "emr", "iam_dagster_irsa", "snowflake")
ENVIRONMENTS = ("dev", "prod")


def tf_files() -> list[Path]:
    return sorted(TERRAFORM.rglob("*.tf"))


def unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals and block labels: drop them, recursively."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, dict):
        return {unquote(key): unquote(item) for key, item in value.items() if key != "__is_block__"}
    if isinstance(value, list):
        return [unquote(item) for item in value]
    return value


def parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return unquote(hcl2.load(handle))


def blocks(folder: Path, kind: str) -> dict[str, dict[str, Any]]:
    """Every labelled block of `kind` (variable, output, ...) of a module folder, by label."""
    result: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.tf")):
        for block in parse(path).get(kind, []):
            result.update(block)
    return result


def resource(path: Path, kind: str, name: str) -> dict[str, Any]:
    """The body of `resource "<kind>" "<name>"` in one .tf file."""
    for block in parse(path).get("resource", []):
        if name in block.get(kind, {}):
            return block[kind][name]
    raise KeyError(f'{path}: no resource "{kind}" "{name}"')
