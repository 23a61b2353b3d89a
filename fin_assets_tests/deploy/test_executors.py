"""FIN_EXECUTOR chooses the executor of every job; k8s runs each step in its own pod, heavy
steps (their `dagster-k8s/config` op tag) in bigger ones."""

import dataclasses
import os
from pathlib import Path

import pytest
from dagster._core.execution.api import create_execution_plan
from dagster_k8s import DagsterK8sJobConfig, construct_dagster_k8s_job
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import (
    USER_DEFINED_K8S_CONFIG_KEY,
    UserDefinedDagsterK8sConfig,
    get_user_defined_k8s_config,
)

from fin_assets.definitions import build_definitions
from fin_assets.executors import K8S_CONFIG_TAG, STEP_RESOURCES
from fin_assets.settings import Settings, get_settings
from fin_assets_tests.deploy.pod_environment import pod_environment

JOBS = ("symbol_history_job", "portfolio_job", "reference_job", "vendor_pull_job")
# Minute bars of a whole range, whole-history indicators and risk, the cross-symbol portfolio.
HEAVY_STEPS = {"intraday_bars", "technical_indicators", "risk_metrics", "portfolio_risk"}
DEFAULT = ({"cpu": "250m", "memory": "1Gi"}, {"cpu": "1", "memory": "2Gi"})
HEAVY = ({"cpu": "2", "memory": "8Gi"}, {"cpu": "4", "memory": "12Gi"})


def k8s_settings(home: Path) -> Settings:
    local = Settings.local(home, dagster_pg_url="postgresql://postgres@127.0.0.1:5432/unused")
    return dataclasses.replace(local, executor="k8s", lake_url="s3://fin-lake-prod/lake")


def resolved_executor_config(executor_def) -> dict:
    """The executor's config after dagster-k8s's schema filled in its defaults."""
    result = executor_def.config_schema.resolve_config({})
    assert result.success, result.errors
    return result.value["config"]


def step_pod_resources(executor_config: dict, step_tags: dict[str, str]) -> tuple[dict, dict]:
    """Requests and limits of the container of the Kubernetes Job dagster-k8s builds for a step
    with `step_tags`, resolved as K8sStepHandler does: the executor's `step_k8s_config`, then the
    step's `dagster-k8s/config` tag merged over it (fin_assets sets no per_step_k8s_config)."""
    executor_context = K8sContainerContext(
        run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(executor_config["step_k8s_config"])
    )
    context = executor_context.merge(
        K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(step_tags))
    )
    job = construct_dagster_k8s_job(
        DagsterK8sJobConfig(job_image="fin-assets:test", dagster_home="/opt/dagster/dagster_home"),
        args=["dagster", "api", "execute_step"],
        job_name="dagster-step-test",
        user_defined_k8s_config=context.run_k8s_config,
    )
    (container,) = job.spec.template.spec.containers
    return container.resources.requests, container.resources.limits


def test_local_definitions_run_in_process(tmp_path: Path) -> None:
    settings = Settings.local(tmp_path, dagster_pg_url="postgresql://postgres@127.0.0.1/unused")
    defs = build_definitions(settings)
    for job in JOBS:
        assert defs.resolve_job_def(job).executor_def.name == "in_process"


def test_k8s_definitions_load_with_a_valid_k8s_job_executor(tmp_path: Path) -> None:
    defs = build_definitions(k8s_settings(tmp_path))
    for job in JOBS:
        executor_def = defs.resolve_job_def(job).executor_def
        assert executor_def.name == "k8s_job_executor"
        config = resolved_executor_config(executor_def)
        assert config["max_concurrent"] == 4
        assert config["retries"] == {"enabled": {}}
        assert config["step_k8s_config"]["container_config"] == {"resources": STEP_RESOURCES}
        assert config["per_step_k8s_config"] == {}


def test_production_definitions_load_with_the_deployment_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in [name for name in os.environ if name.startswith("FIN_")]:
        monkeypatch.delenv(name)
    for name, value in {**pod_environment(), "FIN_HOME": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    settings = get_settings()
    assert (settings.env, settings.executor, settings.warehouse, settings.spark) == (
        "prod",
        "k8s",
        "snowflake",
        "emr",
    )
    assert (settings.lake_root, settings.landing_root, settings.raw_root) == (
        "s3://fin-assets-prod-curated-123456789012/lake",
        "s3://fin-assets-prod-landing-123456789012",
        "s3://fin-assets-prod-raw-123456789012",
    )
    defs = build_definitions(settings)
    for job in JOBS:
        assert defs.resolve_job_def(job).executor_def.name == "k8s_job_executor"


def test_heavy_step_pods_get_bigger_resources_from_their_op_tag(tmp_path: Path) -> None:
    assert K8S_CONFIG_TAG == USER_DEFINED_K8S_CONFIG_KEY
    defs = build_definitions(k8s_settings(tmp_path))
    heavy_seen = set()
    for name in JOBS:
        job = defs.resolve_job_def(name)
        config = resolved_executor_config(job.executor_def)
        for step in create_execution_plan(job).steps:
            expected = HEAVY if step.op_name in HEAVY_STEPS else DEFAULT
            assert step_pod_resources(config, step.tags) == expected, f"{name}: {step.key}"
            if K8S_CONFIG_TAG in step.tags:
                heavy_seen.add(step.op_name)
    assert heavy_seen == HEAVY_STEPS


def test_the_op_tag_is_the_k8s_config_of_the_heavy_assets(tmp_path: Path) -> None:
    defs = build_definitions(k8s_settings(tmp_path))
    tagged = {
        assets_def.node_def.name: get_user_defined_k8s_config(assets_def.node_def.tags)
        for assets_def in defs.resolve_asset_graph().assets_defs
        if assets_def.is_executable and K8S_CONFIG_TAG in assets_def.node_def.tags
    }
    assert set(tagged) == HEAVY_STEPS
    for config in tagged.values():
        assert config.container_config == {
            "resources": {
                "requests": {"cpu": "2", "memory": "8Gi"},
                "limits": {"cpu": "4", "memory": "12Gi"},
            }
        }
        assert config.pod_spec_config == {} and config.job_spec_config == {}
