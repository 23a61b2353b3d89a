"""The executor of every job, chosen by FIN_EXECUTOR (see fin_assets.settings).

- `in_process`: every step of a run in the run's own process, one at a time (local default:
  the DuckDB warehouse takes one writer process at a time).
- `k8s`: dagster-k8s's `k8s_job_executor`, one Kubernetes Job (one pod) per step, in the
  cluster deployed with helm/ (docs/deploy.md). Step pods inherit what the instance's
  K8sRunLauncher sets (image of the code location, service account with the IRSA role,
  `envSecrets`, security context, the writable /tmp volume); this module only adds the
  resources: STEP_RESOURCES for every step and HEAVY_STEP_RESOURCES for the steps in
  HEAVY_STEPS, which read or reshape a symbol's whole history in memory.

The per-step settings are `dagster-k8s/config` blocks (the schema of that op tag: container_config,
pod_spec_config, ...), keyed by op name in the executor's `per_step_k8s_config`, which dagster-k8s
merges after the op's own `dagster-k8s/config` tag. Kubernetes field names are the API's
(camelCase, as in the Helm values). On k8s the lake must be shared by the pods (an s3:// lake, or
a folder on a ReadWriteMany volume), and so must the warehouse (Snowflake, prod's default).
"""

from __future__ import annotations

from typing import Any

from dagster import ExecutorDefinition, in_process_executor
from dagster_k8s import k8s_job_executor

from fin_assets.settings import Settings

# Requests are what the scheduler reserves; limits stop a runaway step before it starves the node.
STEP_RESOURCES: dict[str, dict[str, str]] = {
    "requests": {"cpu": "250m", "memory": "1Gi"},
    "limits": {"cpu": "1", "memory": "2Gi"},
}
HEAVY_STEP_RESOURCES: dict[str, dict[str, str]] = {
    "requests": {"cpu": "2", "memory": "8Gi"},
    "limits": {"cpu": "4", "memory": "12Gi"},
}
# Op names (an @asset's op is named after the asset; portfolio_risk also yields
# correlation_matrix): minute bars of a whole range, whole-history indicators and risk, and the
# cross-symbol portfolio.
HEAVY_STEPS = ("intraday_bars", "technical_indicators", "risk_metrics", "portfolio_risk")
# Step pods of one run running at the same time (a run covers one job over a partition range).
MAX_CONCURRENT_STEP_PODS = 4


def step_k8s_config(resources: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The `dagster-k8s/config` block giving a step's container `resources`."""
    return {"container_config": {"resources": resources}}


def k8s_executor_config() -> dict[str, Any]:
    """Config of `k8s_job_executor`: default step resources, heavy-step overrides, pod limit."""
    return {
        "max_concurrent": MAX_CONCURRENT_STEP_PODS,
        "step_k8s_config": step_k8s_config(STEP_RESOURCES),
        "per_step_k8s_config": {
            step: step_k8s_config(HEAVY_STEP_RESOURCES) for step in HEAVY_STEPS
        },
    }


def executor_for(settings: Settings) -> ExecutorDefinition:
    """The executor of `settings.executor` (`in_process` or `k8s`)."""
    if settings.executor == "in_process":
        return in_process_executor
    if settings.executor == "k8s":
        return k8s_job_executor.configured(k8s_executor_config(), name="k8s_job_executor")
    raise ValueError(f"FIN_EXECUTOR={settings.executor!r}: expected in_process or k8s")
