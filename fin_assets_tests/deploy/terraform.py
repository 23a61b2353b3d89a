"""Read terraform/ with python-hcl2: blocks by type, names and strings without HCL quotes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2

from fin_assets_tests.deploy.dockerfile import REPOSITORY

TERRAFORM = REPOSITORY / "terraform"
MODULES = ("s3_lake", "emr", "iam_dagster_irsa", "snowflake", "monitoring")
# One root composes the modules; each environment is a state and a <env>.tfvars of sizes.
ROOT = TERRAFORM / "environments"
ENVIRONMENTS = ("dev", "prod")


def tf_files() -> list[Path]:
    """Every .tf and .tfvars file."""
    return sorted(path for path in TERRAFORM.rglob("*.tf*") if path.suffix in {".tf", ".tfvars"})


def unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals and block labels: drop them, recursively."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, dict):
        return {
            unquote(key): unquote(item)
            for key, item in value.items()
            if key not in {"__is_block__", "__comments__"}
        }
    if isinstance(value, list):
        return [unquote(item) for item in value]
    return value


def parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return unquote(hcl2.load(handle))


def blocks(folder: Path, kind: str) -> dict[str, dict[str, Any]]:
    """Every labelled block of `kind` (variable, output, ...) of a module folder, by label."""
    result: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.tf")):
        for block in parse(path).get(kind, []):
            result.update(block)
    return result


def resource(path: Path, kind: str, name: str) -> dict[str, Any]:
    """The body of `resource "<kind>" "<name>"` in one .tf file."""
    for block in parse(path).get("resource", []):
        if name in block.get(kind, {}):
            return block[kind][name]
    raise KeyError(f'{path}: no resource "{kind}" "{name}"')


# What `terraform apply` makes of the references in the root's outputs, in an example account.
APPLIED = {
    "${module.iam_dagster_irsa.role_arn}": "arn:aws:iam::123456789012:role/fin-assets-prod-dagster",
    "${var.dagster_postgres_host}": "fin-dagster.abc123.eu-west-1.rds.amazonaws.com",
    "${module.s3_lake.compute_log_bucket_name}": "fin-assets-prod-curated-123456789012",
    "${module.s3_lake.compute_log_prefix}": "dagster/compute-logs",
    "${module.s3_lake.region}": "eu-west-1",
    "${module.s3_lake.lake_url}": "s3://fin-assets-prod-curated-123456789012/lake",
    "${module.s3_lake.landing_url}": "s3://fin-assets-prod-landing-123456789012",
    "${module.s3_lake.raw_url}": "s3://fin-assets-prod-raw-123456789012",
    "${module.s3_lake.spark_staging_url}": "s3://fin-assets-prod-curated-123456789012/spark/staging",
    "${module.emr.service_role_name}": "fin-assets-prod-emr-service",
    "${module.emr.instance_profile_name}": "fin-assets-prod-emr-instance",
    "${module.emr.security_configuration_name}": "fin-assets-prod-emr",
    '${join(",", var.spark_subnet_ids)}': "subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788",
    "${module.emr.serverless_application_id}": "00fkq1q2r3s4t5u6",
    "${module.emr.serverless_job_role_arn}": (
        "arn:aws:iam::123456789012:role/fin-assets-prod-emr-serverless-job"
    ),
    "${module.s3_lake.spark_archive_url}": (
        "s3://fin-assets-prod-curated-123456789012/spark/archives/fin_assets-venv.tar.gz"
    ),
    "${var.snowflake_organization}-${var.snowflake_account}": "FINORG-PROD",
    "${module.snowflake.loader_user}": "FIN_ASSETS_PROD_LOADER_USER",
    "${module.snowflake.loader_role}": "FIN_ASSETS_PROD_LOADER",
    "${module.snowflake.warehouse}": "FIN_ASSETS_PROD_WH",
    "${module.snowflake.database}": "FIN_ASSETS_PROD_DB",
    "${module.snowflake.schema}": "FIN_ASSETS",
}


def applied(value: Any) -> Any:
    """`value` with every terraform reference replaced by its APPLIED example."""
    if isinstance(value, dict):
        return {key: applied(item) for key, item in value.items()}
    return APPLIED[value]


def applied_output(name: str) -> Any:
    """An output of the environments' root, as applied."""
    return applied(blocks(ROOT, "output")[name]["value"])
