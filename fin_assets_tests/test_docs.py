"""The README stays short and maps every folder; the docs' links resolve; docs/assets.md is the
table the definitions give (python -m fin_assets.asset_table)."""

from __future__ import annotations

import re
from pathlib import Path

from fin_assets import asset_table
from fin_assets_tests.test_cli_runs import README_EXAMPLE

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
README_LIMIT = 10_000
# Markdown links to files of the repository: [text](path) or [text](path#anchor).
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _prose() -> list[Path]:
    return [README, *sorted((REPO / "docs").glob("*.md")), REPO / "BENCHMARKS.md"]


def test_the_readme_is_at_most_10000_characters() -> None:
    size = len(README.read_text())
    assert size <= README_LIMIT, f"README.md has {size} characters; move reference text to docs/"


def test_the_readme_maps_every_package_folder() -> None:
    text = README.read_text()
    folders = sorted(
        path.name
        for path in (REPO / "fin_assets").iterdir()
        if path.is_dir() and path.name != "__pycache__"
    )
    missing = [name for name in folders if f"`fin_assets/{name}/`" not in text]
    assert not missing, f"README.md's map omits fin_assets/{missing}"
    for folder in ("spark_resources/", "benchmarks/", "fin_assets_tests/", "deploy/"):
        assert f"`{folder}`" in text


def test_every_relative_link_of_the_prose_resolves() -> None:
    broken = []
    for page in _prose():
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(REPO)} → {target}")
    assert not broken, broken


def test_the_docs_index_lists_every_page() -> None:
    index = (REPO / "docs" / "README.md").read_text()
    pages = [p.name for p in (REPO / "docs").glob("*.md") if p.name != "README.md"]
    missing = [name for name in pages if f"]({name})" not in index]
    assert not missing, f"docs/README.md does not list {missing}"


def test_docs_assets_md_is_the_table_of_the_definitions() -> None:
    assert asset_table.DOC_PATH.read_text() == asset_table.current_table(), (
        "docs/assets.md is out of date: run python -m fin_assets.asset_table"
    )


def test_the_documented_commands_are_the_tested_ones() -> None:
    """The README's two commands are the Makefile's targets CI runs; the backfill example of
    docs/running.md is the one test_cli_runs.py runs verbatim."""
    readme = README.read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text()
    running = (REPO / "docs" / "running.md").read_text()
    assert README_EXAMPLE in running
