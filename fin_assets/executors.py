"""The executor of every job, chosen by FIN_EXECUTOR (see fin_assets.settings).

- `in_process`: every step of a run in the run's own process, one at a time (local default:
  the DuckDB warehouse takes one writer process at a time).
- `k8s`: dagster-k8s's `k8s_job_executor`, one Kubernetes Job (one pod) per step, in the
  cluster deployed with helm/ (docs/deploy.md). Step pods inherit what the instance's
  K8sRunLauncher sets (image of the code location, service account with the IRSA role,
  `envSecrets`, security context, the writable /tmp volume); the executor gives every step
  STEP_RESOURCES (its `step_k8s_config`).

Either way the runs are staged, and published by the run worker when every step succeeded
(write-audit-publish for the run, their Spark jobs' writes included: fin_assets.defs.publish):
`publishing_executor` wraps both.

Heavy steps, which read or reshape a symbol's whole history in memory (intraday_bars,
technical_indicators, risk_metrics, portfolio_risk), carry HEAVY_STEP_RESOURCES in their own
`dagster-k8s/config` op tag: their @asset / @multi_asset definitions pass
`op_tags=heavy_step_op_tags()`. dagster-k8s merges a step's op tag over the executor's
`step_k8s_config` (the tag's `container_config.resources` replace the default requests and
limits); the in-process executor ignores the tag. This module is the one place the numbers
live. Kubernetes field names are the API's (camelCase, as in the Helm values) inside the
snake_case blocks of the tag's schema (container_config, pod_spec_config, ...).

On k8s the lake must be shared by the pods (an s3:// lake, or a folder on a ReadWriteMany
volume), and so must the warehouse (Snowflake, prod's default).
"""

from __future__ import annotations

from typing import Any

from dagster import ExecutorDefinition, in_process_executor

from fin_assets.defs.publish import publishing_executor
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
# The op tag dagster-k8s reads a step's Kubernetes config from (dagster_k8s.job's
# USER_DEFINED_K8S_CONFIG_KEY, spelled out so that the asset modules need not import dagster_k8s).
K8S_CONFIG_TAG = "dagster-k8s/config"
# Step pods of one run running at the same time (a run covers one job over a partition range).
MAX_CONCURRENT_STEP_PODS = 4


# Dagster's step priority op tag: of the steps ready to run, an executor starts the highest first.
STEP_PRIORITY_TAG = "dagster/priority"
# Steps on the path to the signal and risk rows (technical_indicators, trading_signals,
# risk_metrics, fact_signal, fact_risk), which desks wait for, run before a run's other ready
# steps (anomalies, the bar and indicator facts).
SIGNAL_PATH_PRIORITY = 1


def signal_path_op_tags() -> dict[str, str]:
    """The `op_tags` of a step on the path to the signal and risk rows (SIGNAL_PATH_PRIORITY)."""
    return {STEP_PRIORITY_TAG: str(SIGNAL_PATH_PRIORITY)}


def step_k8s_config(resources: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The `dagster-k8s/config` block giving a step's container `resources`."""
    return {"container_config": {"resources": resources}}


def heavy_step_op_tags() -> dict[str, Any]:
    """The `op_tags` of a heavy asset: its step pod gets HEAVY_STEP_RESOURCES."""
    return {K8S_CONFIG_TAG: step_k8s_config(HEAVY_STEP_RESOURCES)}


def k8s_executor_config() -> dict[str, Any]:
    """Config of `k8s_job_executor`: every step's default resources and the pods of a run."""
    return {
        "max_concurrent": MAX_CONCURRENT_STEP_PODS,
        "step_k8s_config": step_k8s_config(STEP_RESOURCES),
    }


def executor_for(settings: Settings) -> ExecutorDefinition:
    """The executor of `settings.executor` (`in_process` or `k8s`)."""
    if settings.executor == "in_process":
        return publishing_executor(in_process_executor)
    if settings.executor == "k8s":
        # Imported here: the Kubernetes client takes seconds to import in every local process.
        from dagster_k8s import k8s_job_executor

        return publishing_executor(
            k8s_job_executor.configured(k8s_executor_config(), name="k8s_job_executor")
        )
    raise ValueError(f"FIN_EXECUTOR={settings.executor!r}: expected in_process or k8s")
