"""helm/: lint-clean YAML whose merged values per environment satisfy the chart-derived schema."""

import copy
import json
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from yamllint import linter
from yamllint.config import YamlLintConfig

from fin_assets.defs.operations.schedules import VENDOR_TAG
from fin_assets.universe.universe import VENDORS
from fin_assets_tests.deploy.dockerfile import REPOSITORY, stages
from fin_assets_tests.deploy.pod_environment import SECRET_KEYS
from fin_assets_tests.deploy.terraform import ENVIRONMENTS, applied_output

HELM = REPOSITORY / "helm"
SCHEMA = json.loads((HELM / "fin-values.schema.json").read_text())
# What `helm upgrade --install` adds with --set (docs/deploy.md).
IMAGE = {"repository": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fin-assets", "tag": "8fba7af"}


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((HELM / name).read_text())


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of values files: maps key by key, anything else (lists too) replaced."""
    result = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def deployed_values(environment: str) -> dict[str, Any]:
    """values.yaml, values-<env>.yaml, the terraform output file and the image --set, merged."""
    values = merge(load("values.yaml"), load(f"values-{environment}.yaml"))
    values = merge(values, applied_output("helm_values"))
    values["dagster-user-deployments"]["deployments"][0]["image"].update(IMAGE)
    return values


def schema_errors(values: dict[str, Any]) -> list[str]:
    validator = Draft202012Validator(SCHEMA)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(values)
    ]


def test_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)


def test_yaml_is_lint_clean() -> None:
    config = YamlLintConfig(file=str(HELM / ".yamllint.yaml"))
    problems = [
        f"{path.name}:{problem.line}: {problem.desc}"
        for path in sorted(HELM.glob("*.yaml"))
        for problem in linter.run(path.read_text(), config, str(path))
    ]
    assert problems == []


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_deployed_values_satisfy_the_schema(environment: str) -> None:
    assert schema_errors(deployed_values(environment)) == []


def test_schema_rejects_what_policy_forbids() -> None:
    values = deployed_values("prod")
    inline_password = merge(values, {"postgresql": {"postgresqlPassword": "hunter2"}})
    root_webserver = merge(
        values, {"dagsterWebserver": {"securityContext": {"readOnlyRootFilesystem": False}}}
    )
    unknown_key = merge(values, {"dagsterDaemon": {"replicaCount": 2}})
    without_infra = merge(load("values.yaml"), load("values-prod.yaml"))
    assert any("postgresqlPassword" in error for error in schema_errors(inline_password))
    assert any("readOnlyRootFilesystem" in error for error in schema_errors(root_webserver))
    assert any("replicaCount" in error for error in schema_errors(unknown_key))
    assert {error.split(":")[0] for error in schema_errors(without_infra)} >= {
        "serviceAccount/annotations",
        "postgresql/postgresqlHost",
        "computeLogManager/config/s3ComputeLogManager/bucket",
    }


def test_environments_differ_in_size_only() -> None:
    dev, prod = deployed_values("dev"), deployed_values("prod")
    web = "dagsterWebserver"
    assert (dev[web]["replicaCount"], prod[web]["replicaCount"]) == (1, 2)
    assert (dev[web]["enableReadOnly"], prod[web]["enableReadOnly"]) == (False, True)
    dev_runs, prod_runs = dev["concurrency"]["runs"], prod["concurrency"]["runs"]
    assert (dev_runs["maxConcurrentRuns"], prod_runs["maxConcurrentRuns"]) == (4, 20)
    assert dev_runs["tagConcurrencyLimits"] == prod_runs["tagConcurrencyLimits"]
    assert dev["dagster-user-deployments"] == prod["dagster-user-deployments"]


def test_prod_instance_matches_the_dagster_yaml_template() -> None:
    """The chart's instance config for prod carries deploy/dagster.prod.yaml's queue and pools."""
    template = yaml.safe_load((REPOSITORY / "deploy" / "dagster.prod.yaml").read_text())
    values = deployed_values("prod")
    runs, pools = values["concurrency"]["runs"], values["concurrency"]["pools"]
    assert runs["maxConcurrentRuns"] == template["concurrency"]["runs"]["max_concurrent_runs"]
    assert (pools["granularity"], pools["defaultLimit"]) == (
        template["concurrency"]["pools"]["granularity"],
        template["concurrency"]["pools"]["default_limit"],
    )
    helm_limits = [
        {"key": limit["key"], "value": limit.get("value"), "limit": limit["limit"]}
        for limit in runs["tagConcurrencyLimits"]
    ]
    template_limits = [
        {"key": limit["key"], "value": limit.get("value"), "limit": limit["limit"]}
        for limit in template["concurrency"]["runs"]["tag_concurrency_limits"]
    ]
    assert helm_limits == template_limits
    daemon = values["dagsterDaemon"]
    monitoring, retries = template["run_monitoring"], template["run_retries"]
    assert (
        daemon["runMonitoring"]["startTimeoutSeconds"],
        daemon["runMonitoring"]["maxResumeRunAttempts"],
    ) == (monitoring["start_timeout_seconds"], monitoring["max_resume_run_attempts"])
    assert (
        daemon["runRetries"]["maxRetries"],
        daemon["runRetries"]["retryOnAssetOrOpFailure"],
    ) == (retries["max_retries"], retries["retry_on_asset_or_op_failure"])


def test_run_queue_limits_every_vendor_by_the_tag_runs_carry() -> None:
    limits = load("values.yaml")["concurrency"]["runs"]["tagConcurrencyLimits"]
    vendor_limits = [limit for limit in limits if limit["key"] == VENDOR_TAG]
    assert sorted(limit["value"] for limit in vendor_limits) == sorted(VENDORS)


def test_user_deployment_serves_the_image_command_with_secrets_by_reference() -> None:
    (deployment,) = load("values.yaml")["dagster-user-deployments"]["deployments"]
    command = stages()[-1].cmd
    module = command[command.index("-m") : command.index("-m") + 2]
    assert deployment["dagsterApiGrpcArgs"] == module
    assert deployment["port"] == int(command[command.index("-p") + 1])
    assert deployment["envSecrets"] == [
        {"name": "fin-assets-snowflake"},
        {"name": "fin-assets-vendors"},
        {"name": "fin-assets-alerts", "optional": True},
    ]
    assert deployment["envConfigMaps"] == [{"name": "fin-assets-infra"}]
    # docs/deploy.md creates every secret and ConfigMap named here, with the keys the pods read.
    guide = (REPOSITORY / "docs" / "deploy.md").read_text()
    for name in [item["name"] for item in deployment["envSecrets"]] + ["fin-assets-infra"]:
        assert f"create secret generic {name}" in guide or f"create configmap {name}" in guide
    for key in SECRET_KEYS:
        assert f"{key}=" in guide, key
    env = {item["name"]: item["value"] for item in deployment["env"]}
    assert env.keys() == {"FIN_ENV", "FIN_LAKE_CACHE_MAX_BYTES"}
    assert env["FIN_ENV"] == "prod"
    mounts = {mount["mountPath"] for mount in deployment["volumeMounts"]}
    assert stages()[-1].env["FIN_HOME"].startswith(tuple(mounts))
    # The lake's file cache (under FIN_HOME) takes at most a quarter of the writable /tmp.
    [tmp] = [volume for volume in deployment["volumes"] if volume["name"] == "tmp"]
    assert tmp["emptyDir"]["sizeLimit"] == "1Gi"
    assert int(env["FIN_LAKE_CACHE_MAX_BYTES"]) * 4 <= 1 << 30
