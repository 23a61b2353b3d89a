"""docs/assets.md, the table of every asset, generated from the code location's definitions.

`python -m fin_assets.asset_table` rewrites the file; `--check` exits 1 when it is out of date
(fin_assets_tests/test_docs.py runs the check). The table is built from the local
environment's definitions (Settings.local), so it does not depend on the caller's FIN_*
variables: one row per asset in the graph's order of groups and keys, with its group, its
partitions (dimensions and their kind), its kinds, the first sentence of its description and
the names of its checks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dagster import (
    DailyPartitionsDefinition,
    Definitions,
    MultiPartitionsDefinition,
    PartitionsDefinition,
    StaticPartitionsDefinition,
)

from fin_assets.definitions import build_definitions
from fin_assets.settings import Settings

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "assets.md"
HEADER = """# Assets

Generated from the definitions by `python -m fin_assets.asset_table` (do not edit by hand;
`fin_assets_tests/test_docs.py` fails when this file is out of date). Conventions shared by
these assets (partitions, look-backs, checks, runs over ranges): [asset_graph.md](asset_graph.md).

"""


def partitions_text(partitions_def: PartitionsDefinition | None) -> str:
    """`none`, `date` (daily), `symbol` (static) or their product, e.g. `date × symbol`."""
    if partitions_def is None:
        return "none"
    if isinstance(partitions_def, MultiPartitionsDefinition):
        return " × ".join(dimension.name for dimension in partitions_def.partitions_defs)
    if isinstance(partitions_def, DailyPartitionsDefinition):
        return "date"
    if isinstance(partitions_def, StaticPartitionsDefinition):
        return "static"
    return type(partitions_def).__name__


def first_sentence(description: str | None) -> str:
    """The description's first sentence on one line, table-safe (pipes escaped)."""
    if not description:
        return ""
    text = " ".join(description.split())
    end = text.find(". ")
    sentence = text if end < 0 else text[: end + 1]
    return sentence.replace("|", "\\|")


def asset_table(definitions: Definitions) -> str:
    """The Markdown document: HEADER, then one table row per asset."""
    graph = definitions.resolve_asset_graph()
    nodes = sorted(
        graph.asset_nodes, key=lambda node: (node.group_name or "", node.key.to_user_string())
    )
    lines = [
        HEADER,
        f"{len(nodes)} assets.\n\n",
        "| asset | group | partitions | kinds | description | checks |\n",
        "| --- | --- | --- | --- | --- | --- |\n",
    ]
    for node in nodes:
        checks = ", ".join(sorted(f"`{key.name}`" for key in node.check_keys))
        kinds = ", ".join(sorted(node.kinds))
        lines.append(
            f"| `{node.key.to_user_string()}` | {node.group_name} "
            f"| {partitions_text(node.partitions_def)} | {kinds} "
            f"| {first_sentence(node.description)} | {checks} |\n"
        )
    return "".join(lines)


def current_table() -> str:
    """The table of the local environment's definitions (no FIN_* variable read)."""
    return asset_table(build_definitions(Settings.local(Path(".fin_assets"), "")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when docs/assets.md is out of date"
    )
    args = parser.parse_args(argv)
    table = current_table()
    if args.check:
        if not DOC_PATH.exists() or DOC_PATH.read_text() != table:
            print(f"{DOC_PATH} is out of date: run python -m fin_assets.asset_table")
            return 1
        return 0
    DOC_PATH.write_text(table)
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
