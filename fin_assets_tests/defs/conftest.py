"""Fixtures shared by the tests of the Dagster wiring."""

from collections.abc import Iterator

import pytest
import yaml
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster_graphql.test.utils import define_out_of_process_context

from fin_assets.instance import open_instance
from fin_assets.settings import Settings
from fin_assets.testing.daemon import REPOSITORY_ROOT, daemon_environment


@pytest.fixture
def graphql_context(
    fin_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[WorkspaceProcessContext]:
    """A GraphQL context of the code location (a code server) on the test's instance."""
    for name, value in daemon_environment(fin_settings, {}).items():
        monkeypatch.setenv(name, value)
    workspace = fin_settings.home / "workspace.yaml"
    location = {
        "module_name": "fin_assets.definitions",
        "location_name": "fin_assets",
        "working_directory": str(REPOSITORY_ROOT),
    }
    fin_settings.home.mkdir(parents=True, exist_ok=True)
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": location}]}))
    with define_out_of_process_context(
        str(workspace), None, open_instance(fin_settings)
    ) as context:
        yield context
