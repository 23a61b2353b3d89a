"""helm/fin-assets-monitoring rendered by Helm's own engine (render_chart.py in .venv-tools): the
exporter's Deployment and Service, the ServiceMonitor scraping it, the PrometheusRule carrying
deploy/prometheus's rule groups as they are and the dashboards' ConfigMap carrying every
deploy/grafana dashboard; each behind its switch."""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from fin_assets.operations.cli import DEFAULT_PORT
from fin_assets_tests.deploy.dockerfile import REPOSITORY
from fin_assets_tests.deploy.test_helm_values import load as load_dagster_values

CHART = REPOSITORY / "helm" / "fin-assets-monitoring"
TOOLS_PYTHON = REPOSITORY / ".venv-tools" / "bin" / "python"
RENDER = Path(__file__).with_name("render_chart.py")
IMAGE = {"repository": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fin-assets", "tag": "8fba7af"}


def render(values: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    assert TOOLS_PYTHON.exists(), "helm-python-sdk is installed by `make tools` into .venv-tools"
    return subprocess.run(
        [str(TOOLS_PYTHON), str(RENDER), str(CHART), json.dumps(values)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def manifests(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`kind/name` → object of every manifest the chart renders with `values`."""
    result = render(values)
    assert result.returncode == 0, result.stderr
    objects = [
        document
        for text in json.loads(result.stdout).values()
        for document in yaml.safe_load_all(text)
        if document
    ]
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in objects}


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, Any]]:
    return manifests({"exporter": {"image": IMAGE}})


def test_chart_files_are_links_to_deploy() -> None:
    """One source: the chart's rules and dashboards are deploy/'s files, not copies."""
    files = CHART / "files"
    assert (files / "fin_assets_rules.yml").is_symlink()
    assert (files / "grafana").is_symlink()
    assert (files / "fin_assets_rules.yml").resolve() == (
        REPOSITORY / "deploy" / "prometheus" / "fin_assets_rules.yml"
    )
    assert (files / "grafana").resolve() == REPOSITORY / "deploy" / "grafana"


def test_chart_yaml_is_lint_clean() -> None:
    config = YamlLintConfig(file=str(REPOSITORY / "helm" / ".yamllint.yaml"))
    problems = [
        f"{path.name}:{problem.line}: {problem.desc}"
        for path in (CHART / "Chart.yaml", CHART / "values.yaml")
        for problem in linter.run(path.read_text(), config, str(path))
    ]
    assert problems == []


def test_renders_every_object(rendered: dict[str, dict[str, Any]]) -> None:
    assert sorted(rendered) == [
        "ConfigMap/fin-assets-dashboards",
        "Deployment/fin-assets-exporter",
        "PrometheusRule/fin-assets-rules",
        "Service/fin-assets-exporter",
        "ServiceMonitor/fin-assets-exporter",
    ]


def test_exporter_runs_the_metrics_command_with_the_code_locations_environment(
    rendered: dict[str, dict[str, Any]],
) -> None:
    deployment = rendered["Deployment/fin-assets-exporter"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == f"{IMAGE['repository']}:{IMAGE['tag']}"
    assert container["command"] == [
        "fin-assets",
        "metrics",
        *("--host", "0.0.0.0", "--port", str(DEFAULT_PORT), "--lake-interval", "60"),
    ]
    assert container["ports"] == [
        {"name": "metrics", "containerPort": DEFAULT_PORT, "protocol": "TCP"}
    ]
    # The code location's environment, secrets and service account (helm/values.yaml).
    dagster = load_dagster_values("values.yaml")
    (location,) = dagster["dagster-user-deployments"]["deployments"]
    assert container["env"] == location["env"]
    assert [ref["configMapRef"]["name"] for ref in container["envFrom"][:1]] == [
        item["name"] for item in location["envConfigMaps"]
    ]
    secrets = [ref["secretRef"]["name"] for ref in container["envFrom"][1:]]
    assert "fin-assets-vendors" in secrets  # FIN_DAGSTER_PG_URL: the instance's database
    assert set(secrets) <= {item["name"] for item in location["envSecrets"]}
    assert pod["serviceAccountName"] == dagster["global"]["serviceAccountName"]
    assert pod["securityContext"] == location["podSecurityContext"]
    assert container["securityContext"] == location["securityContext"]
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp"}
    assert container["resources"]["limits"] and container["resources"]["requests"]


def test_service_monitor_scrapes_the_exporters_service(
    rendered: dict[str, dict[str, Any]],
) -> None:
    service = rendered["Service/fin-assets-exporter"]
    monitor = rendered["ServiceMonitor/fin-assets-exporter"]
    deployment = rendered["Deployment/fin-assets-exporter"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["selector"].items() <= (
        deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["dagster"]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("metrics", "/metrics")
    assert [port["name"] for port in service["spec"]["ports"]] == ["metrics"]


def test_prometheus_rule_carries_the_deploy_rule_groups(
    rendered: dict[str, dict[str, Any]],
) -> None:
    rules = yaml.safe_load(
        (REPOSITORY / "deploy" / "prometheus" / "fin_assets_rules.yml").read_text()
    )
    rule = rendered["PrometheusRule/fin-assets-rules"]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["spec"]["groups"] == rules["groups"]


def test_dashboards_config_map_holds_every_dashboard_for_grafanas_sidecar(
    rendered: dict[str, dict[str, Any]],
) -> None:
    config_map = rendered["ConfigMap/fin-assets-dashboards"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboards = sorted((REPOSITORY / "deploy" / "grafana").glob("*.json"))
    assert len(dashboards) >= 6
    assert sorted(config_map["data"]) == [path.name for path in dashboards]
    for path in dashboards:
        assert json.loads(config_map["data"][path.name]) == json.loads(path.read_text())
    # A ConfigMap holds at most 1 MiB.
    assert len(json.dumps(config_map["data"])) < 1024 * 1024


def test_each_part_has_its_switch() -> None:
    only_dashboards = manifests(
        {
            "exporter": {"enabled": False, "image": IMAGE},
            "serviceMonitor": {"enabled": False},
            "prometheusRule": {"enabled": False},
        }
    )
    assert sorted(only_dashboards) == ["ConfigMap/fin-assets-dashboards"]
    without_dashboards = manifests({"exporter": {"image": IMAGE}, "dashboards": {"enabled": False}})
    assert "ConfigMap/fin-assets-dashboards" not in without_dashboards
    assert len(without_dashboards) == 4


def test_refuses_an_exporter_without_image_and_unknown_values() -> None:
    without_image = render({})
    assert without_image.returncode != 0
    assert "exporter.image.repository and exporter.image.tag are required" in (without_image.stderr)
    unknown = render({"exporter": {"image": IMAGE, "replicas": 2}})
    assert unknown.returncode != 0 and "replicas" in unknown.stderr
    writable_root = render(
        {"exporter": {"image": IMAGE, "securityContext": {"readOnlyRootFilesystem": False}}}
    )
    assert writable_root.returncode != 0
