"""The EMR runner against moto's EMR and S3 (real HTTP), with the real Spark job in between.

The asset runs with EMRSparkRunner, configured as a deployment configures it: from the
environment variables named after the Terraform outputs (roles, security configuration, subnets,
log URI). It stages the job in S3 and PipesEMRClient sends RunJobFlow to moto, then waits for the
cluster to terminate. Playing EMR's part, the test reads the cluster,
its step and its bootstrap action back from moto, unpacks the staged code archive named by the
bootstrap action, runs the step's entry point (downloaded from moto's S3) with spark-submit
locally (local[2] instead of YARN) in the Pipes environment of the cluster's configuration — the
job writes its Pipes messages to moto's S3 — and terminates the cluster. The asset then
completes with what the job reported.

Not exercisable offline (moto accepts but does not model them, or they need AWS itself): the
bootstrap script (dnf and pip on Amazon Linux 2023), YARN cluster deploy mode, EMRFS reads of an
s3:// lake (Spark here reads a local lake: s3a needs hadoop-aws jars from Maven), spot capacity,
the on-demand fallback and instance-fleet sizing (moto ignores InstanceFleets and
AutoTerminationPolicy: they are asserted on the HTTP request instead), step failure states,
the EMR log dump to LogUri, what the security configuration enforces (encryption at rest, TLS
certificates), IAM (moto does not check that the service role may pass the instance profile, nor
the Dagster role's PassRole and tag conditions) and subnet placement (moto keeps only a single
Ec2SubnetId, so Ec2SubnetIds is asserted on the request). EMR Serverless: moto's job runs report
state "SUCCESS" (the service says "SUCCEEDED") and has no get_dashboard_for_job_run, so
PipesEMRServerlessClient cannot wait on it; its StartJobRun request (application id, execution
role, log URI from the environment) is checked against moto's API below.
"""

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from dagster import ExecuteInProcessResult, materialize

from fin_assets.analytics.schemas import INDICATORS
from fin_assets.defs.common.spark_history import history_job
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.spark_emr import (
    EMRSparkRunner,
    emr_runner_from_env,
    emr_serverless_runner_from_env,
    split_s3_uri,
    stage_job,
)
from fin_assets.resources.spark_runner import spark_submit_path
from fin_assets.resources.storage import LakeResource
from fin_assets.settings import environ
from fin_assets.shared.lake_io import calendar_dates
from fin_assets.shared.partition_scope import PartitionScope
from fin_assets.testing.s3_server import REGION, MotoS3
from fin_assets_tests.graph import asset_def
from fin_assets_tests.s3_server import s3_bucket, s3_server  # noqa: F401
from fin_assets_tests.spark.conftest import SYMBOLS

pytestmark = [pytest.mark.slow, pytest.mark.spark]

START, END = date(2025, 12, 1), date(2025, 12, 31)
CLUSTER_TIMEOUT = 120
# Names as terraform/modules/emr creates them for name_prefix fin-assets-prod.
SERVICE_ROLE = "fin-assets-prod-emr-service"
INSTANCE_PROFILE = "fin-assets-prod-emr-instance"
SECURITY_CONFIGURATION = "fin-assets-prod-emr"
SERVERLESS_ROLE = "arn:aws:iam::123456789012:role/fin-assets-prod-emr-serverless-job"


def deployment_environment(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]) -> None:
    """The pod environment the runners read (the Terraform outputs' names and ids)."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def run_asset_in_thread(lake_root: Path, runner: EMRSparkRunner) -> tuple[threading.Thread, dict]:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = materialize(
                [asset_def("technical_indicators")],
                resources={"lake": LakeResource(root=str(lake_root)), "spark": runner},
                tags={
                    "dagster/asset_partition_range_start": f"{START}|{SYMBOLS[0]}",
                    "dagster/asset_partition_range_end": f"{END}|{SYMBOLS[-1]}",
                },
                raise_on_error=False,
            )
        except Exception as error:  # reported to the test thread
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def wait_for_cluster(emr: Any) -> str:
    deadline = time.monotonic() + CLUSTER_TIMEOUT
    while time.monotonic() < deadline:
        clusters = emr.list_clusters()["Clusters"]
        if clusters:
            return clusters[0]["Id"]
        time.sleep(0.5)
    raise TimeoutError("no EMR cluster was started")


def play_emr(emr: Any, s3: Any, cluster_id: str, workdir: Path) -> dict[str, Any]:
    """Run the cluster's bootstrap (its code part) and single step locally as EMR would, then
    terminate the cluster."""
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    (step,) = emr.list_steps(ClusterId=cluster_id)["Steps"]
    (bootstrap,) = emr.list_bootstrap_actions(ClusterId=cluster_id)["BootstrapActions"]
    args = step["Config"]["Args"]
    exports = next(
        c["Configurations"][0]["Properties"]
        for c in cluster["Configurations"]
        if c["Classification"] == "spark-env"
    )

    def download(uri: str) -> bytes:
        bucket, key = split_s3_uri(uri)
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    # The bootstrap's `unzip code.zip -d /opt/fin_assets`, into the work folder.
    code_dir = workdir / "code"
    zipfile.ZipFile(io.BytesIO(download(bootstrap["Args"][1]))).extractall(code_dir)
    entry_index = next(i for i, arg in enumerate(args) if arg.endswith(".py"))
    entry_point = workdir / "entry_point.py"
    entry_point.write_bytes(download(args[entry_index]))
    command = [
        str(spark_submit_path()),
        "--master",
        "local[2]",
        str(entry_point),
        *args[entry_index + 1 :],
    ]
    environment = {
        **os.environ,
        **exports,
        "PYSPARK_PYTHON": sys.executable,
        "PYTHONPATH": str(code_dir),
    }
    completed = subprocess.run(command, env=environment, capture_output=True, text=True)
    # EMR ships a step's output to the cluster's log URI, where the runner's log readers wait
    # for it (Dagster's readers give up only 60 s after the step).
    log_bucket, log_prefix = split_s3_uri(cluster["LogUri"])
    for stream, text in (("stdout", completed.stdout), ("stderr", completed.stderr)):
        s3.put_object(
            Bucket=log_bucket,
            Key=f"{log_prefix}/{cluster_id}/steps/{step['Id']}/{stream}.gz",
            Body=gzip.compress(text.encode()),
        )
    emr.terminate_job_flows(JobFlowIds=[cluster_id])
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-6000:]
    return {"cluster": cluster, "step": step, "bootstrap": bootstrap, "exports": exports}


def test_emr_runner_sends_a_transient_spot_cluster_and_reads_the_jobs_pipes_messages(
    s3_server: MotoS3,  # noqa: F811
    s3_bucket: str,  # noqa: F811
    daily_lake: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake_root = tmp_path / "lake"
    shutil.copytree(daily_lake, lake_root)
    # Every boto3.client() of the runner comes from the default session: record what it sends.
    boto3.setup_default_session(region_name=REGION)
    sent: list[dict[str, Any]] = []

    def record(request: Any, **_: Any) -> None:
        sent.append(json.loads(request.body))

    boto3.DEFAULT_SESSION.events.register("before-send.emr.RunJobFlow", record)
    emr, s3 = boto3.client("emr", region_name=REGION), boto3.client("s3", region_name=REGION)
    emr.create_security_configuration(
        Name=SECURITY_CONFIGURATION,
        SecurityConfiguration=json.dumps(
            {"EncryptionConfiguration": {"EnableAtRestEncryption": False}}
        ),
    )
    log_uri = f"s3://{s3_bucket}/spark/emr-logs/"
    deployment_environment(
        monkeypatch,
        {
            "FIN_SPARK_STAGING_URI": f"s3://{s3_bucket}/fin",
            "FIN_EMR_SERVICE_ROLE": SERVICE_ROLE,
            "FIN_EMR_INSTANCE_PROFILE": INSTANCE_PROFILE,
            "FIN_EMR_SECURITY_CONFIGURATION": SECURITY_CONFIGURATION,
            "FIN_EMR_SUBNET_IDS": "subnet-0a, subnet-0b",
            "FIN_EMR_LOG_URI": log_uri,
            "AWS_REGION": REGION,
        },
    )
    runner = emr_runner_from_env(environ(), min_partitions=1, wait_for_s3_logs_seconds=0)
    thread, outcome = run_asset_in_thread(lake_root, runner)
    played = play_emr(emr, s3, wait_for_cluster(emr), tmp_path)
    thread.join(timeout=CLUSTER_TIMEOUT)
    assert not thread.is_alive() and "error" not in outcome, outcome
    result: ExecuteInProcessResult = outcome["result"]
    assert result.success

    # The request as sent over HTTP.
    (request,) = sent
    run_id = result.run_id
    staged = f"s3://{s3_bucket}/fin/runs/{run_id}"
    primary, core = request["Instances"]["InstanceFleets"]
    assert primary["InstanceFleetType"] == "MASTER" and primary["TargetOnDemandCapacity"] == 1
    assert core["InstanceFleetType"] == "CORE" and core["TargetSpotCapacity"] == 4
    assert "TargetOnDemandCapacity" not in core
    assert {c["InstanceType"] for c in core["InstanceTypeConfigs"]} == {
        "r6i.2xlarge",
        "r5.2xlarge",
        "r6a.2xlarge",
        "r7i.2xlarge",
    }
    assert core["LaunchSpecifications"]["SpotSpecification"] == {
        "TimeoutDurationMinutes": 10,
        "TimeoutAction": "SWITCH_TO_ON_DEMAND",
        "AllocationStrategy": "price-capacity-optimized",
    }
    assert request["Instances"]["KeepJobFlowAliveWhenNoSteps"] is False
    assert request["Instances"]["Ec2SubnetIds"] == ["subnet-0a", "subnet-0b"]
    assert request["AutoTerminationPolicy"] == {"IdleTimeout": 900}
    assert request["ReleaseLabel"] == "emr-7.5.0"
    assert request["Applications"] == [{"Name": "Spark"}]
    # The deployment's settings (Terraform outputs, through the environment).
    assert request["ServiceRole"] == SERVICE_ROLE
    assert request["JobFlowRole"] == INSTANCE_PROFILE
    assert request["SecurityConfiguration"] == SECURITY_CONFIGURATION
    assert request["LogUri"] == log_uri
    assert request["BootstrapActions"] == [
        {
            "Name": "python-3.11-and-job-packages",
            "ScriptBootstrapAction": {
                "Path": f"{staged}/bootstrap.sh",
                "Args": [f"{staged}/requirements.txt", f"{staged}/code.zip"],
            },
        }
    ]
    scope = PartitionScope(tuple(calendar_dates(START, END)), SYMBOLS)
    job = history_job(str(lake_root), scope, "technical_indicators")
    (step,) = request["Steps"]
    assert step["ActionOnFailure"] == "TERMINATE_CLUSTER"
    assert step["HadoopJarStep"]["Jar"] == "command-runner.jar"
    assert step["HadoopJarStep"]["Args"] == [
        "spark-submit",
        "--deploy-mode",
        "cluster",
        "--master",
        "yarn",
        "--conf",
        "spark.pyspark.python=/usr/bin/python3.11",
        "--conf",
        "spark.pyspark.driver.python=/usr/bin/python3.11",
        "--conf",
        "spark.yarn.appMasterEnv.PYTHONPATH=/opt/fin_assets",
        "--conf",
        "spark.executorEnv.PYTHONPATH=/opt/fin_assets",
        f"{staged}/history_job.py",
        *job.arguments,
    ]
    configurations = {c["Classification"]: c for c in request["Configurations"]}
    app_master_env = configurations["spark-defaults"]["Properties"]
    assert set(app_master_env) == {
        "spark.yarn.appMasterEnv.DAGSTER_PIPES_CONTEXT",
        "spark.yarn.appMasterEnv.DAGSTER_PIPES_MESSAGES",
    }
    for classification in ("spark-env", "yarn-env", "hadoop-env"):
        exported = configurations[classification]["Configurations"][0]["Properties"]
        assert set(exported) == {"DAGSTER_PIPES_CONTEXT", "DAGSTER_PIPES_MESSAGES"}
    assert {"Key": "dagster/run-id", "Value": run_id} in request["Tags"]

    # What moto stored matches, and the staged files are in S3.
    assert played["cluster"]["ReleaseLabel"] == "emr-7.5.0"
    assert played["cluster"]["SecurityConfiguration"] == SECURITY_CONFIGURATION
    assert played["cluster"]["ServiceRole"] == SERVICE_ROLE
    assert played["cluster"]["LogUri"] == log_uri
    assert played["step"]["Config"]["Args"] == step["HadoopJarStep"]["Args"]
    assert played["bootstrap"]["ScriptPath"] == f"{staged}/bootstrap.sh"
    script = s3.get_object(Bucket=s3_bucket, Key=f"fin/runs/{run_id}/bootstrap.sh")["Body"]
    assert "unzip -q -o /tmp/fin_assets_code.zip -d /opt/fin_assets" in script.read().decode()
    s3 = boto3.client("s3", region_name=REGION)
    prefix = f"fin/runs/{run_id}/"
    listed = s3.list_objects_v2(Bucket=s3_bucket, Prefix=prefix)["Contents"]
    assert {o["Key"][len(prefix) :] for o in listed} == {
        "history_job.py",
        "code.zip",
        "requirements.txt",
        "bootstrap.sh",
    }
    archive = s3.get_object(Bucket=s3_bucket, Key=f"{prefix}code.zip")["Body"].read()
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert "spark_resources/history_job.py" in names
    assert "fin_assets/universe/universe.yaml" in names
    pinned = s3.get_object(Bucket=s3_bucket, Key=f"{prefix}requirements.txt")["Body"].read()
    assert "pandas==2.3.3\n" in pinned.decode() and "pyspark" not in pinned.decode()

    # The job's Pipes messages came back through S3.
    lake = ParquetLake(str(lake_root))
    rows = sum(
        lake.read_partitions("technical_indicators", INDICATORS, scope.dates, s).num_rows
        for s in SYMBOLS
    )
    # One materialization event per partition of the range, all with the job's metadata.
    materializations = result.asset_materializations_for_node("technical_indicators")
    assert len(materializations) == scope.partition_count
    materialization = materializations[0]
    assert materialization.metadata["rows_in_run"].value == rows > 0
    assert materialization.metadata["engine"].value == "spark"
    assert materialization.metadata["AWS EMR Cluster ID"].value == played["cluster"]["Id"]
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"schema": True, "unique_key": True, "rsi_range": True}


def test_emr_serverless_request_is_accepted_by_the_api(
    s3_server: MotoS3,  # noqa: F811
    s3_bucket: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serverless = boto3.client("emr-serverless", region_name=REGION)
    application = serverless.create_application(
        name="fin-assets-prod-spark", releaseLabel="emr-7.5.0", type="SPARK"
    )
    log_uri = f"s3://{s3_bucket}/spark/serverless-logs/"
    deployment_environment(
        monkeypatch,
        {
            "FIN_SPARK_STAGING_URI": f"s3://{s3_bucket}/fin",
            "FIN_EMR_SERVERLESS_APPLICATION_ID": application["applicationId"],
            "FIN_EMR_SERVERLESS_ROLE_ARN": SERVERLESS_ROLE,
            "FIN_EMR_SERVERLESS_PYTHON_ARCHIVE": f"s3://{s3_bucket}/envs/fin_assets.tar.gz",
            "FIN_EMR_LOG_URI": log_uri,
            "AWS_REGION": REGION,
        },
    )
    # The runner as a run gets it: its EnvVars read from the environment.
    runner = emr_serverless_runner_from_env(environ()).process_config_and_initialize()
    scope = PartitionScope(tuple(calendar_dates(START, END)), SYMBOLS)
    job = history_job("s3://lake-bucket/lake", scope, "risk_metrics")
    staged = stage_job(boto3.client("s3", region_name=REGION), runner.staging_uri, "run-1", job)
    params = runner.start_job_run_params(staged, job, "fin_assets history_job.py run-1")
    assert params["applicationId"] == application["applicationId"]
    assert params["executionRoleArn"] == SERVERLESS_ROLE
    monitoring = params["configurationOverrides"]["monitoringConfiguration"]
    assert monitoring == {"s3MonitoringConfiguration": {"logUri": log_uri}}
    started = serverless.start_job_run(**params)
    stored = serverless.get_job_run(
        applicationId=application["applicationId"], jobRunId=started["jobRunId"]
    )["jobRun"]
    submit = stored["jobDriver"]["sparkSubmit"]
    assert submit["entryPoint"] == f"s3://{s3_bucket}/fin/runs/run-1/history_job.py"
    assert submit["entryPointArguments"] == list(job.arguments)
    assert submit["sparkSubmitParameters"].split(" --conf ") == [
        f"--conf spark.archives=s3://{s3_bucket}/envs/fin_assets.tar.gz#environment",
        "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON=./environment/bin/python",
        "spark.emr-serverless.driverEnv.PYSPARK_PYTHON=./environment/bin/python",
        "spark.executorEnv.PYSPARK_PYTHON=./environment/bin/python",
    ]
    assert stored["applicationId"] == application["applicationId"]
    assert stored["executionRole"] == SERVERLESS_ROLE
