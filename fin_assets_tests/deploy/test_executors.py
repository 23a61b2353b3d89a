"""FIN_EXECUTOR chooses the executor of every job; k8s runs each step in its own pod."""

import dataclasses
import os
from pathlib import Path

import pytest
from dagster_k8s import DagsterK8sJobConfig, construct_dagster_k8s_job
from dagster_k8s.job import UserDefinedDagsterK8sConfig

from fin_assets.definitions import build_definitions
from fin_assets.executors import HEAVY_STEPS, STEP_RESOURCES
from fin_assets.settings import Settings, get_settings
from fin_assets_tests.deploy.pod_environment import pod_environment

JOBS = ("symbol_history_job", "portfolio_job", "reference_job", "vendor_pull_job")


def k8s_settings(home: Path) -> Settings:
    local = Settings.local(home, dagster_pg_url="postgresql://postgres@127.0.0.1:5432/unused")
    return dataclasses.replace(local, executor="k8s", lake_url="s3://fin-lake-prod/lake")


def resolved_executor_config(executor_def) -> dict:
    """The executor's config after dagster-k8s's schema filled in its defaults."""
    result = executor_def.config_schema.resolve_config({})
    assert result.success, result.errors
    return result.value["config"]


def step_container(step_config: dict) -> object:
    """The container of the Kubernetes Job dagster-k8s builds for a step with `step_config`."""
    job = construct_dagster_k8s_job(
        DagsterK8sJobConfig(job_image="fin-assets:test", dagster_home="/opt/dagster/dagster_home"),
        args=["dagster", "api", "execute_step"],
        job_name="dagster-step-test",
        user_defined_k8s_config=UserDefinedDagsterK8sConfig.from_dict(step_config),
    )
    (container,) = job.spec.template.spec.containers
    return container


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
        assert set(config["per_step_k8s_config"]) == set(HEAVY_STEPS)


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
    assert settings.lake_url == "s3://fin-assets-prod-lake-123456789012/lake"
    defs = build_definitions(settings)
    for job in JOBS:
        assert defs.resolve_job_def(job).executor_def.name == "k8s_job_executor"


def test_heavy_steps_are_ops_of_the_graph(tmp_path: Path) -> None:
    defs = build_definitions(k8s_settings(tmp_path))
    ops = {
        assets_def.node_def.name
        for assets_def in defs.resolve_asset_graph().assets_defs
        if assets_def.is_executable
    }
    assert set(HEAVY_STEPS) <= ops


def test_step_pods_get_the_configured_resources(tmp_path: Path) -> None:
    config = resolved_executor_config(
        build_definitions(k8s_settings(tmp_path)).resolve_job_def("portfolio_job").executor_def
    )
    default = step_container(config["step_k8s_config"]).resources
    assert (default.requests, default.limits) == (
        {"cpu": "250m", "memory": "1Gi"},
        {"cpu": "1", "memory": "2Gi"},
    )
    for step in HEAVY_STEPS:
        heavy = step_container(config["per_step_k8s_config"][step]).resources
        assert (heavy.requests, heavy.limits) == (
            {"cpu": "2", "memory": "8Gi"},
            {"cpu": "4", "memory": "12Gi"},
        )
