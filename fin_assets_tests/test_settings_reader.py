"""fin_assets.settings is the one module of fin_assets that reads the environment, and importing
the code location reads none of it (the settings are read when Dagster loads `defs`), nor does
importing any module of fin_assets or spark_resources (the universe file and FIN_HISTORY_START
are read by the first partition_values())."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fin_assets.settings import exported

PACKAGE = Path(__file__).resolve().parents[1] / "fin_assets"
READER = PACKAGE / "settings.py"
# Test support that sets and restores the AWS variables around the moto server it starts (what
# pytest's monkeypatch does), for the code under test to read through the settings.
ALLOWED = {PACKAGE / "testing" / "s3_server.py"}
ENVIRONMENT_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_uses(path: Path) -> list[str]:
    """`os.environ`, `os.getenv`, ... and `from os import environ, ...` in the file, as
    "path:line: name"."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ENVIRONMENT_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            found.append(f"{path}:{node.lineno}: os.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [
                f"{path}:{node.lineno}: from os import {alias.name}"
                for alias in node.names
                if alias.name in ENVIRONMENT_NAMES
            ]
    return found


def python_output(code: str, variables: dict[str, str]) -> list[str]:
    """The lines `code` prints in a fresh interpreter with `variables` added to the environment
    (it must exit 0)."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.splitlines()


def test_only_the_settings_module_reads_the_environment() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert READER in modules
    uses = [
        use for path in modules if path not in {READER, *ALLOWED} for use in environment_uses(path)
    ]
    assert uses == []
    assert environment_uses(READER)


def test_importing_the_code_location_reads_no_settings() -> None:
    """With an invalid FIN_ENV the import succeeds; loading the definitions names the variable."""
    code = (
        "import fin_assets.definitions as d\n"
        "print('imported')\n"
        "try:\n"
        "    d.defs()\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    assert python_output(code, {"FIN_ENV": "nowhere"}) == [
        "imported",
        "FIN_ENV='nowhere': expected one of local, prod",
    ]


def test_importing_any_module_reads_no_setting_and_opens_no_universe_file(tmp_path: Path) -> None:
    """With FIN_UNIVERSE_FILE naming no file and an invalid FIN_HISTORY_START, every module of
    fin_assets and spark_resources imports; the partition values then name the missing file,
    and, with the universe back, the invalid date."""
    missing = tmp_path / "no_universe.yaml"
    code = (
        "import importlib, os, pkgutil\n"
        "import fin_assets, spark_resources\n"
        "for package in (fin_assets, spark_resources):\n"
        "    prefix = package.__name__ + '.'\n"
        "    for module in pkgutil.walk_packages(package.__path__, prefix):\n"
        "        importlib.import_module(module.name)\n"
        "print('imported')\n"
        "from fin_assets.shared.partitions import partition_values\n"
        "try:\n"
        "    partition_values()\n"
        "except FileNotFoundError as error:\n"
        "    print(error.filename)\n"
        "del os.environ['FIN_UNIVERSE_FILE']\n"
        "try:\n"
        "    partition_values()\n"
        "except ValueError as error:\n"
        "    print(error)\n"
    )
    variables = {"FIN_UNIVERSE_FILE": str(missing), "FIN_HISTORY_START": "someday"}
    assert python_output(code, variables) == [
        "imported",
        str(missing.resolve()),
        "Invalid isoformat string: 'someday'",
    ]


def test_exported_variables_are_restored_after_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_stages exports a FIN_HOME's settings for its code server: after it the process's
    environment is as before (a later test's or command's settings are not the earlier ones)."""
    monkeypatch.setenv("FIN_HOME", "/before")
    monkeypatch.delenv("FIN_LAKE_URL", raising=False)
    with exported({"FIN_HOME": "/run", "FIN_LAKE_URL": "/run/lake"}):
        assert (os.environ["FIN_HOME"], os.environ["FIN_LAKE_URL"]) == ("/run", "/run/lake")
    assert os.environ["FIN_HOME"] == "/before"
    assert "FIN_LAKE_URL" not in os.environ
