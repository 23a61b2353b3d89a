"""Spark on AWS through Dagster Pipes: a transient EMR cluster per run, or EMR Serverless.

Both runners first stage the job under `staging_uri` (s3://bucket/prefix), in
`runs/{run_id}/`: the entry point script, `code.zip` (the fin_assets and spark_resources
packages), and for EMR `requirements.txt` (the exact versions of this environment's packages
the jobs import) with `bootstrap.sh`, which installs them and unpacks the code on every node.
The job reports back through PipesS3MessageReader: messages (and the driver's stdout/stderr)
are written under the same bucket and read while the run is in progress.

EMR (`EMRSparkRunner`): one cluster per run, started by PipesEMRClient with the steps in the
request and `KeepJobFlowAliveWhenNoSteps=False`, so it terminates when the step ends (and after
`idle_timeout_seconds` idle as a backstop, AutoTerminationPolicy). Instance fleets: an on-demand
primary node and spot core capacity over several instance types (price-capacity-optimized
allocation, falling back to on-demand after `spot_timeout_minutes`). The step runs
`spark-submit --deploy-mode cluster` on YARN with the bootstrapped Python 3.11.

The Pipes environment is injected by PipesEMRClient into the cluster's `spark-defaults`
(spark.yarn.appMasterEnv.*) and `spark-env`/`yarn-env`/`hadoop-env` exports. Its merging of a
caller's configuration with the same classification drops the caller's properties
(dagster-aws 0.29.27, `add_emr_configuration`), so this runner passes every Spark setting as
`--conf` of the step instead of a `spark-defaults` classification.

Deployment settings (roles, security configuration, subnets, log URI, the Serverless application
and its role) come from the Terraform outputs through environment variables:
`emr_runner_from_env` and `emr_serverless_runner_from_env` name them.

EMR Serverless (`EMRServerlessSparkRunner`): PipesEMRServerlessClient submits to an existing
application; nodes cannot be bootstrapped, so the Python environment, this project included,
is an archive (`python_archive_uri`: a venv-pack tarball of a venv where the project and its
pinned dependencies are pip-installed, built on Amazon Linux 2023) unpacked by
`spark.archives`; only the entry point is taken from the staged files. The archive must be
rebuilt when the code changes.
"""

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import boto3
from dagster import AssetExecutionContext, EnvVar, PipesClientCompletedInvocation
from dagster_aws.pipes import PipesEMRClient, PipesEMRServerlessClient, PipesS3MessageReader
from pydantic import Field

import fin_assets
import spark_resources
from fin_assets.resources.spark_runner import SparkJob, SparkRunner

# The distributions the Spark jobs import, installed at this environment's exact versions.
# pyspark is not among them: the cluster's own Spark runs the jobs.
JOB_DISTRIBUTIONS = (
    "dagster",
    "dagster-pipes",
    "boto3",
    "pandas",
    "numpy",
    "pyarrow",
    "scipy",
    "ta-lib",
    "exchange-calendars",
    "pyyaml",
)
EMR_PYTHON = "/usr/bin/python3.11"
# Where the bootstrap unpacks code.zip on every node. Unpacked rather than shipped with
# --py-files: the universe file is read from the package folder, which a zip import has not.
EMR_CODE_DIR = "/opt/fin_assets"
BOOTSTRAP_SCRIPT = f"""#!/bin/bash
# On every node: Python 3.11, the pinned packages of the Spark jobs ($1, requirements.txt) and
# the fin_assets and spark_resources packages ($2, code.zip) unpacked into {EMR_CODE_DIR}.
set -euo pipefail
sudo dnf install -y -q python3.11 python3.11-pip unzip
aws s3 cp "$1" /tmp/fin_assets_requirements.txt
sudo python3.11 -m pip install --quiet -r /tmp/fin_assets_requirements.txt
aws s3 cp "$2" /tmp/fin_assets_code.zip
sudo mkdir -p {EMR_CODE_DIR}
sudo unzip -q -o /tmp/fin_assets_code.zip -d {EMR_CODE_DIR}
"""


@dataclass(frozen=True)
class StagedJob:
    """S3 URIs of a job's staged files."""

    entry_point: str
    code_archive: str
    requirements: str
    bootstrap: str
    messages_bucket: str
    logs: str


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key prefix without trailing slash) of an s3:// URI; ValueError otherwise."""
    if not uri.startswith("s3://") or len(uri) <= len("s3://"):
        raise ValueError(f"expected an s3://bucket/prefix URI, got {uri!r}")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    return bucket, prefix.strip("/")


def code_archive() -> bytes:
    """A zip of the fin_assets and spark_resources packages (sources and the universe file)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in (fin_assets, spark_resources):
            root = Path(package.__file__).parent
            for path in sorted(root.rglob("*")):
                if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts:
                    archive.write(path, path.relative_to(root.parent).as_posix())
    return buffer.getvalue()


def requirements() -> str:
    """requirements.txt pinning JOB_DISTRIBUTIONS to the versions installed here."""
    return "".join(f"{name}=={version(name)}\n" for name in JOB_DISTRIBUTIONS)


def stage_job(s3: Any, staging_uri: str, run_id: str, job: SparkJob) -> StagedJob:
    """Upload the job's files under `{staging_uri}/runs/{run_id}/`."""
    bucket, prefix = split_s3_uri(staging_uri)
    base = "/".join(part for part in (prefix, "runs", run_id) if part)
    files = {
        job.script: job.local_path.read_bytes(),
        "code.zip": code_archive(),
        "requirements.txt": requirements().encode(),
        "bootstrap.sh": BOOTSTRAP_SCRIPT.encode(),
    }
    for name, body in files.items():
        s3.put_object(Bucket=bucket, Key=f"{base}/{name}", Body=body)
    uri = f"s3://{bucket}/{base}"
    return StagedJob(
        entry_point=f"{uri}/{job.script}",
        code_archive=f"{uri}/code.zip",
        requirements=f"{uri}/requirements.txt",
        bootstrap=f"{uri}/bootstrap.sh",
        messages_bucket=bucket,
        logs=f"s3://{bucket}/{'/'.join(p for p in (prefix, 'logs') if p)}/",
    )


def stage_for_run(
    region: str | None, staging_uri: str, context: AssetExecutionContext, job: SparkJob
) -> tuple[StagedJob, PipesS3MessageReader, str]:
    """Stage `job` for this run; a Pipes message reader on the staging bucket (the driver's
    stdout/stderr included in the messages); the name of the cluster or job run."""
    s3 = boto3.client("s3", region_name=region)
    staged = stage_job(s3, staging_uri, context.run_id, job)
    reader = PipesS3MessageReader(
        bucket=staged.messages_bucket, client=s3, include_stdio_in_messages=True
    )
    return staged, reader, f"fin_assets {job.script} {context.run_id[:8]}"


class EMRSparkRunner(SparkRunner):
    """A transient EMR cluster per run (spot core fleet, auto-termination), through Pipes."""

    staging_uri: str = Field(description="s3://bucket/prefix for code, messages and logs")
    region: str | None = None
    release_label: str = "emr-7.5.0"
    service_role: str = Field(default="EMR_DefaultRole", description="RunJobFlow ServiceRole")
    instance_profile: str = Field(
        default="EMR_EC2_DefaultRole", description="RunJobFlow JobFlowRole (instance profile)"
    )
    security_configuration: str | None = Field(
        default=None, description="EMR security configuration name (encryption at rest, TLS)"
    )
    subnet_ids: list[str] = Field(
        default_factory=list, description="Ec2SubnetIds of the fleets; empty: the default VPC"
    )
    log_uri: str | None = Field(
        default=None, description="LogUri of the cluster; default {staging_uri}/logs/"
    )
    primary_instance_types: list[str] = Field(default_factory=lambda: ["m6i.xlarge", "m5.xlarge"])
    core_instance_types: list[str] = Field(
        default_factory=lambda: ["r6i.2xlarge", "r5.2xlarge", "r6a.2xlarge", "r7i.2xlarge"]
    )
    core_spot_units: int = Field(default=4, description="core capacity: one unit = 8 vCPUs")
    spot_timeout_minutes: int = 10
    idle_timeout_seconds: int = 900
    wait_for_s3_logs_seconds: int = 10

    def job_flow_params(self, staged: StagedJob, job: SparkJob, name: str) -> dict[str, Any]:
        """The RunJobFlow request of one run (PipesEMRClient adds the Pipes env and tags)."""
        instances: dict[str, Any] = {
            "InstanceFleets": [
                {
                    "Name": "primary",
                    "InstanceFleetType": "MASTER",
                    "TargetOnDemandCapacity": 1,
                    "InstanceTypeConfigs": [
                        {"InstanceType": t} for t in self.primary_instance_types
                    ],
                },
                {
                    "Name": "core-spot",
                    "InstanceFleetType": "CORE",
                    "TargetSpotCapacity": self.core_spot_units,
                    "InstanceTypeConfigs": [
                        {
                            "InstanceType": t,
                            "WeightedCapacity": 1,
                            "BidPriceAsPercentageOfOnDemandPrice": 100.0,
                        }
                        for t in self.core_instance_types
                    ],
                    "LaunchSpecifications": {
                        "SpotSpecification": {
                            "TimeoutDurationMinutes": self.spot_timeout_minutes,
                            "TimeoutAction": "SWITCH_TO_ON_DEMAND",
                            "AllocationStrategy": "price-capacity-optimized",
                        }
                    },
                },
            ],
            "KeepJobFlowAliveWhenNoSteps": False,
            "TerminationProtected": False,
        }
        if self.subnet_ids:
            instances["Ec2SubnetIds"] = list(self.subnet_ids)
        submit = [
            "spark-submit",
            "--deploy-mode",
            "cluster",
            "--master",
            "yarn",
            "--conf",
            f"spark.pyspark.python={EMR_PYTHON}",
            "--conf",
            f"spark.pyspark.driver.python={EMR_PYTHON}",
            "--conf",
            f"spark.yarn.appMasterEnv.PYTHONPATH={EMR_CODE_DIR}",
            "--conf",
            f"spark.executorEnv.PYTHONPATH={EMR_CODE_DIR}",
            staged.entry_point,
            *job.arguments,
        ]
        params: dict[str, Any] = {
            "Name": name,
            "ReleaseLabel": self.release_label,
            "Applications": [{"Name": "Spark"}],
            "LogUri": self.log_uri or staged.logs,
            "ServiceRole": self.service_role,
            "JobFlowRole": self.instance_profile,
            "VisibleToAllUsers": True,
            "Instances": instances,
            "AutoTerminationPolicy": {"IdleTimeout": self.idle_timeout_seconds},
            "BootstrapActions": [
                {
                    "Name": "python-3.11-and-job-packages",
                    "ScriptBootstrapAction": {
                        "Path": staged.bootstrap,
                        "Args": [staged.requirements, staged.code_archive],
                    },
                }
            ],
            "Steps": [
                {
                    "Name": job.script,
                    "ActionOnFailure": "TERMINATE_CLUSTER",
                    "HadoopJarStep": {"Jar": "command-runner.jar", "Args": submit},
                }
            ],
        }
        if self.security_configuration:
            params["SecurityConfiguration"] = self.security_configuration
        return params

    def run(self, context: AssetExecutionContext, job: SparkJob) -> PipesClientCompletedInvocation:
        staged, reader, name = stage_for_run(self.region, self.staging_uri, context, job)
        client = PipesEMRClient(
            client=boto3.client("emr", region_name=self.region),
            message_reader=reader,
            wait_for_s3_logs_seconds=self.wait_for_s3_logs_seconds,
        )
        return client.run(
            context=context, run_job_flow_params=self.job_flow_params(staged, job, name)
        )


class EMRServerlessSparkRunner(SparkRunner):
    """A job run on an existing EMR Serverless application, through Pipes."""

    staging_uri: str = Field(description="s3://bucket/prefix for code, messages and logs")
    application_id: str
    execution_role_arn: str
    python_archive_uri: str = Field(
        description="s3:// URI of a venv-pack archive of a venv with this project installed"
    )
    region: str | None = None
    log_uri: str | None = Field(
        default=None, description="logUri of the job runs; default {staging_uri}/logs/"
    )
    poll_interval_seconds: float = 10.0

    def start_job_run_params(self, staged: StagedJob, job: SparkJob, name: str) -> dict[str, Any]:
        """The StartJobRun request (PipesEMRServerlessClient adds the Pipes driver env)."""
        python = "./environment/bin/python"
        conf = {
            "spark.archives": f"{self.python_archive_uri}#environment",
            "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON": python,
            "spark.emr-serverless.driverEnv.PYSPARK_PYTHON": python,
            "spark.executorEnv.PYSPARK_PYTHON": python,
        }
        return {
            "applicationId": self.application_id,
            "executionRoleArn": self.execution_role_arn,
            "name": name,
            "jobDriver": {
                "sparkSubmit": {
                    "entryPoint": staged.entry_point,
                    "entryPointArguments": list(job.arguments),
                    "sparkSubmitParameters": " ".join(
                        f"--conf {key}={value}" for key, value in conf.items()
                    ),
                }
            },
            "configurationOverrides": {
                "monitoringConfiguration": {
                    "s3MonitoringConfiguration": {"logUri": self.log_uri or staged.logs}
                }
            },
        }

    def run(self, context: AssetExecutionContext, job: SparkJob) -> PipesClientCompletedInvocation:
        staged, reader, name = stage_for_run(self.region, self.staging_uri, context, job)
        client = PipesEMRServerlessClient(
            client=boto3.client("emr-serverless", region_name=self.region),
            message_reader=reader,
            poll_interval=self.poll_interval_seconds,
        )
        return client.run(
            context=context, start_job_run_params=self.start_job_run_params(staged, job, name)
        )


# Environment variables of the cloud runners, each filled from a Terraform output
# (terraform/environments/outputs.tf; docs/deploy.md).
EMR_REQUIRED_ENV = {
    "staging_uri": "FIN_SPARK_STAGING_URI",
    "service_role": "FIN_EMR_SERVICE_ROLE",
    "instance_profile": "FIN_EMR_INSTANCE_PROFILE",
    "security_configuration": "FIN_EMR_SECURITY_CONFIGURATION",
}
SERVERLESS_REQUIRED_ENV = {
    "staging_uri": "FIN_SPARK_STAGING_URI",
    "application_id": "FIN_EMR_SERVERLESS_APPLICATION_ID",
    "execution_role_arn": "FIN_EMR_SERVERLESS_ROLE_ARN",
    "python_archive_uri": "FIN_EMR_SERVERLESS_PYTHON_ARCHIVE",
}
# Optional: unset keeps the runner's default.
OPTIONAL_ENV = {"region": "AWS_REGION", "log_uri": "FIN_EMR_LOG_URI"}
SUBNETS_ENV = "FIN_EMR_SUBNET_IDS"


def _env_config(required: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, Any]:
    """Runner fields from the environment: required and set optional ones as EnvVars (read when
    a run starts, so loading the definitions needs none of them)."""
    config: dict[str, Any] = {field: EnvVar(name) for field, name in required.items()}
    config.update(
        {field: EnvVar(name) for field, name in OPTIONAL_ENV.items() if environ.get(name)}
    )
    return config


def emr_runner_from_env(environ: Mapping[str, str], **fields: Any) -> EMRSparkRunner:
    """The EMR runner of a deployment: FIN_SPARK_STAGING_URI, FIN_EMR_SERVICE_ROLE (service role
    name), FIN_EMR_INSTANCE_PROFILE (instance profile name), FIN_EMR_SECURITY_CONFIGURATION;
    optional FIN_EMR_SUBNET_IDS (comma-separated), FIN_EMR_LOG_URI, AWS_REGION. `fields` sets
    the other fields (min_partitions, fleet sizes, ...)."""
    subnets = [s.strip() for s in environ.get(SUBNETS_ENV, "").split(",") if s.strip()]
    return EMRSparkRunner(**_env_config(EMR_REQUIRED_ENV, environ), subnet_ids=subnets, **fields)


def emr_serverless_runner_from_env(
    environ: Mapping[str, str], **fields: Any
) -> EMRServerlessSparkRunner:
    """The EMR Serverless runner of a deployment: FIN_SPARK_STAGING_URI,
    FIN_EMR_SERVERLESS_APPLICATION_ID, FIN_EMR_SERVERLESS_ROLE_ARN,
    FIN_EMR_SERVERLESS_PYTHON_ARCHIVE; optional FIN_EMR_LOG_URI, AWS_REGION. `fields` sets the
    other fields."""
    return EMRServerlessSparkRunner(**_env_config(SERVERLESS_REQUIRED_ENV, environ), **fields)
