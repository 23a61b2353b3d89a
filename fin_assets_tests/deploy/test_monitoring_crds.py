"""The ServiceMonitor and PrometheusRule of helm/fin-assets-monitoring against the Prometheus
operator's own CRD schemas (deploy/prometheus-operator-crds, vendored from a pinned release).

Validation is strict: an object schema with `properties` admits no other field (unless it keeps
unknown fields, `x-kubernetes-preserve-unknown-fields`), as the API server's strict field
validation has it, so a misspelled field is an error instead of being silently pruned.
"""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from fin_assets_tests.deploy.dockerfile import REPOSITORY
from fin_assets_tests.deploy.test_helm_monitoring import IMAGE, manifests

CRDS = REPOSITORY / "deploy" / "prometheus-operator-crds"
OPERATOR_VERSION = "0.93.0"


def strict(schema: Any) -> Any:
    """`schema` with `additionalProperties: false` on every object schema listing its
    properties that neither says otherwise nor preserves unknown fields."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        closed["additionalProperties"] = False
    return closed


def validator(path: Path) -> Draft202012Validator:
    """The strict validator of the CRD's served v1 version."""
    crd = yaml.safe_load(path.read_text())
    assert crd["metadata"]["annotations"]["operator.prometheus.io/version"] == OPERATOR_VERSION
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1" and v["served"]]
    return Draft202012Validator(strict(version["schema"]["openAPIV3Schema"]))


VALIDATORS = {
    "ServiceMonitor": validator(CRDS / "monitoring.coreos.com_servicemonitors.yaml"),
    "PrometheusRule": validator(CRDS / "monitoring.coreos.com_prometheusrules.yaml"),
}


def errors(manifest: dict[str, Any]) -> list[str]:
    found = VALIDATORS[manifest["kind"]].iter_errors(manifest)
    return sorted(f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in found)


@pytest.fixture(scope="module")
def operator_objects() -> dict[str, dict[str, Any]]:
    """kind → the chart's ServiceMonitor and PrometheusRule, rendered with defaults."""
    rendered = manifests({"exporter": {"image": IMAGE}}).values()
    return {o["kind"]: o for o in rendered if o["kind"] in VALIDATORS}


def test_rendered_service_monitor_and_prometheus_rule_follow_the_operators_crds(
    operator_objects: dict[str, dict[str, Any]],
) -> None:
    assert sorted(operator_objects) == ["PrometheusRule", "ServiceMonitor"]
    for manifest in operator_objects.values():
        assert manifest["apiVersion"] == "monitoring.coreos.com/v1"
        assert errors(manifest) == []
    # The rules were all checked: the rule file's groups are non-empty.
    groups = operator_objects["PrometheusRule"]["spec"]["groups"]
    assert sum(len(group["rules"]) for group in groups) > 10


def test_a_misspelled_or_malformed_field_is_an_error(
    operator_objects: dict[str, dict[str, Any]],
) -> None:
    monitor = copy.deepcopy(operator_objects["ServiceMonitor"])
    endpoint = monitor["spec"]["endpoints"][0]
    endpoint["scrapeTimout"] = endpoint.pop("scrapeTimeout")
    monitor["spec"]["namespaceSelecter"] = monitor["spec"].pop("namespaceSelector")
    found = errors(monitor)
    assert len(found) == 2
    assert "'scrapeTimout' was unexpected" in found[0] and found[0].startswith("spec.endpoints.0")
    assert "'namespaceSelecter' was unexpected" in found[1]

    rule = copy.deepcopy(operator_objects["PrometheusRule"])
    first = rule["spec"]["groups"][0]["rules"][0]
    first["annotation"] = first.pop("annotations")
    assert errors(rule) == [
        "spec.groups.0.rules.0: Additional properties are not allowed ('annotation' was unexpected)"
    ]

    bad_interval = copy.deepcopy(operator_objects["ServiceMonitor"])
    bad_interval["spec"]["endpoints"][0]["interval"] = "30 seconds"
    (problem,) = errors(bad_interval)
    assert problem.startswith("spec.endpoints.0.interval: '30 seconds' does not match")
