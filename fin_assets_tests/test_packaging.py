"""The package installs what it imports, and the `all` extra is the lock's top level.

`pip install .` (the declared dependencies, no lock) must give a code location that loads and a
CLI that starts; every extra is imported only where its part is chosen (Spark, EMR, Snowflake,
Kubernetes, MSK IAM auth), never when the code location loads.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).with_name("uv")
# What the optional parts import; none of it may come with the bare package.
EXTRA_MODULES = (
    "pyspark",
    "boto3",
    "dagster_aws",
    "dagster_k8s",
    "dagster_pyspark",
    "dagster_snowflake",
    "aws_msk_iam_sasl_signer",
    "pytest",
)
# The package's modules that belong to an extra (imported only when that part is chosen).
EXTRA_OWNED = {
    "fin_assets.resources.spark_emr": "aws",
    "fin_assets.resources.warehouse_snowflake": "snowflake",
    # The test support package: the tests' and benchmarks' servers (moto, Tansu).
    "fin_assets.testing.brokers": "dev",
    "fin_assets.testing.landing_files": "aws",
    "fin_assets.testing.s3_server": "aws",
}
IMPORT_EVERY_MODULE = """
import importlib, json, pkgutil, fin_assets
failed = {}
for module in pkgutil.walk_packages(fin_assets.__path__, "fin_assets."):
    try:
        importlib.import_module(module.name)
    except ImportError as error:
        failed[module.name] = str(error)
print(json.dumps(failed))
"""


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _pins(requirements: list[str], extras: dict[str, list[str]]) -> dict[str, str]:
    """{name: exact version} of `requirements`, self-references (`fin_assets[x,y]`) expanded."""
    pins: dict[str, str] = {}
    for line in requirements:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name == "fin-assets":
            for extra in sorted(requirement.extras):
                pins.update(_pins(extras[extra], extras))
            continue
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{line} is not pinned exactly"
        pins[name] = specifier.version
    return pins


def _lock_top_level() -> dict[str, str]:
    """{name: version} of requirements.lock's entries required by pyproject.toml itself."""
    pins: dict[str, str] = {}
    current: tuple[str, str] | None = None
    for line in (REPO / "requirements.lock").read_text().splitlines():
        entry = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", line)
        if entry:
            current = (canonicalize_name(entry[1]), entry[2])
        elif current and "fin-assets (pyproject.toml)" in line:
            pins[current[0]] = current[1]
    return pins


def test_the_all_extra_is_the_lock_top_level() -> None:
    project = _project()
    extras = project["optional-dependencies"]
    everything = _pins(project["dependencies"], extras) | _pins(extras["all"], extras)
    assert everything == _lock_top_level()
    # `all` covers every other extra.
    assert set(extras) - {"all"} == {
        extra for line in extras["all"] for extra in Requirement(line).extras
    }


def _source_copy(target: Path) -> Path:
    """The repository's files (tracked, or new and not ignored) copied to `target`: setuptools
    builds in the source folder, where a stale `build/` could slip old modules into the wheel."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.slow
def test_the_bare_package_loads_its_code_location_and_cli(tmp_path: Path) -> None:
    """`uv pip install <repo>` with no extras and no lock into a fresh virtualenv, then the code
    location validates, every module but the extras' imports, and `fin-assets --help` runs."""
    venv = tmp_path / "venv"
    env = {**os.environ, "FIN_HOME": str(tmp_path / "home"), "VIRTUAL_ENV": str(venv)}
    env.pop("DAGSTER_HOME", None)

    def run(*command: str | Path) -> str:
        done = subprocess.run(
            [str(part) for part in command],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    run(UV, "venv", "--quiet", "--python", sys.executable, venv)
    python = venv / "bin" / "python"
    run(UV, "pip", "install", "--quiet", "--python", python, _source_copy(tmp_path / "source"))

    absent = run(
        python,
        "-c",
        "import importlib.util as u; "
        f"print([m for m in {EXTRA_MODULES!r} if u.find_spec(m) is not None])",
    )
    assert absent.strip() == "[]", f"extras came with the bare package: {absent}"
    # Every other module imports (the Yahoo connector, say, which the code location loads lazily).
    printed = run(python, "-c", IMPORT_EVERY_MODULE).splitlines()
    failed = json.loads(next(line for line in printed if line.startswith("{")))
    assert set(failed) == set(EXTRA_OWNED), failed
    validated = run(
        venv / "bin" / "dagster", "definitions", "validate", "-m", "fin_assets.definitions"
    )
    assert "Validation successful for code location fin_assets.definitions" in validated
    usage = run(venv / "bin" / "fin-assets", "--help")
    for command in ("demo", "backfill", "dev", "stream"):
        assert command in usage
