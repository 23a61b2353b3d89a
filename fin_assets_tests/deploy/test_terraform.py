"""terraform/ parses, documents and validates its inputs, feeds fin_assets and passes checkov."""

import json
import re
import subprocess

import pytest

from fin_assets_tests.deploy.dockerfile import REPOSITORY
from fin_assets_tests.deploy.terraform import (
    ENVIRONMENTS,
    MODULES,
    ROOT,
    TERRAFORM,
    blocks,
    parse,
    tf_files,
)

CHECKOV = REPOSITORY / ".venv-tools" / "bin" / "checkov"
LAKE = TERRAFORM / "modules" / "s3_lake"


@pytest.mark.parametrize("path", tf_files(), ids=lambda path: str(path.relative_to(TERRAFORM)))
def test_every_terraform_file_parses(path) -> None:
    assert parse(path), f"{path} declares nothing"


def test_layout_is_the_modules_and_one_root_for_dev_and_prod() -> None:
    assert {path.name for path in (TERRAFORM / "modules").iterdir()} == set(MODULES)
    sources = {next(iter(block.values()))["source"] for block in parse(ROOT / "main.tf")["module"]}
    assert sources == {f"../modules/{name}" for name in MODULES}
    declared = blocks(ROOT, "variable")
    sizes = {env: parse(ROOT / f"{env}.tfvars") for env in ENVIRONMENTS}
    for environment, values in sizes.items():
        assert values["environment"] == environment
        assert set(values) <= set(declared)
    assert sizes["dev"].keys() == sizes["prod"].keys()
    assert sizes["dev"]["force_destroy_buckets"] and not sizes["prod"]["force_destroy_buckets"]


def test_every_variable_and_output_is_described_and_module_inputs_are_validated() -> None:
    for folder in [TERRAFORM / "modules" / name for name in MODULES] + [ROOT]:
        for kind in ("variable", "output"):
            for name, block in blocks(folder, kind).items():
                assert block.get("description"), f"{folder.name}: {kind} {name}"
    for module in MODULES:
        for name, block in blocks(TERRAFORM / "modules" / module, "variable").items():
            if block["type"] != "bool":
                assert block.get("validation"), f"{module}: variable {name} has no validation"


def test_pod_environment_from_terraform_names_settings_fin_assets_reads() -> None:
    env = blocks(ROOT, "output")["fin_assets_env"]["value"]
    package = "\n".join(path.read_text() for path in (REPOSITORY / "fin_assets").rglob("*.py"))
    for name in env:
        assert f'"{name}"' in package, f"{name} is not read by fin_assets"
    assert env["FIN_LAKE_URL"] == "${module.s3_lake.lake_url}"
    assert env["FIN_LANDING_URL"] == "${module.s3_lake.landing_url}"
    assert env["FIN_RAW_URL"] == "${module.s3_lake.raw_url}"
    # What the EMR runner starts its clusters with (fin_assets.resources.spark_emr).
    assert (
        env["FIN_EMR_SERVICE_ROLE"],
        env["FIN_EMR_INSTANCE_PROFILE"],
        env["FIN_EMR_SECURITY_CONFIGURATION"],
    ) == (
        "${module.emr.service_role_name}",
        "${module.emr.instance_profile_name}",
        "${module.emr.security_configuration_name}",
    )
    zone_urls = blocks(LAKE, "output")
    assert zone_urls["lake_url"]["value"] == (
        's3://${aws_s3_bucket.zone["curated"].id}/${var.lake_prefix}'
    )
    assert zone_urls["landing_url"]["value"] == 's3://${aws_s3_bucket.zone["landing"].id}'
    assert zone_urls["raw_url"]["value"] == 's3://${aws_s3_bucket.zone["raw"].id}'


def lake_resources(kind: str) -> dict[str, dict]:
    """The s3_lake module's resources of `kind`, by name."""
    return {
        name: body
        for block in parse(LAKE / "main.tf")["resource"]
        for name, body in block.get(kind, {}).items()
    }


def lake_policy(name: str) -> dict:
    (document,) = [
        block["aws_iam_policy_document"][name]
        for block in parse(LAKE / "main.tf")["data"]
        if name in block.get("aws_iam_policy_document", {})
    ]
    return document


def test_the_lake_is_a_bucket_per_zone_each_with_its_own_key() -> None:
    (local,) = parse(LAKE / "main.tf")["locals"]
    assert local["zones"] == '${toset(["landing", "raw", "curated"])}'
    assert local["bucket_names"] == (
        '${{for zone in local.zones : zone => "${var.name_prefix}-${zone}-${local.account_id}"}}'
    )
    assert set(local["buckets"]) == {"landing", "raw", "curated", "access_logs"}
    buckets = lake_resources("aws_s3_bucket")
    assert buckets["zone"]["for_each"] == "${local.zones}"
    key = lake_resources("aws_kms_key")["zone"]
    assert (key["for_each"], key["enable_key_rotation"]) == ("${local.zones}", True)
    (encryption,) = lake_resources("aws_s3_bucket_server_side_encryption_configuration")["zone"][
        "rule"
    ]
    assert encryption["bucket_key_enabled"] is True
    assert encryption["apply_server_side_encryption_by_default"] == [
        {"sse_algorithm": "aws:kms", "kms_master_key_id": "${aws_kms_key.zone[each.key].arn}"}
    ]
    # Versioning, public access block and disabled ACLs: on every bucket of local.buckets.
    for kind in (
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_ownership_controls",
    ):
        assert lake_resources(kind)["this"]["for_each"] == "${local.buckets}", kind
    block = lake_resources("aws_s3_bucket_public_access_block")["this"]
    assert all(block[flag] is True for flag in ("block_public_acls", "block_public_policy"))
    assert all(block[flag] is True for flag in ("ignore_public_acls", "restrict_public_buckets"))
    versioning = lake_resources("aws_s3_bucket_versioning")["this"]
    assert versioning["versioning_configuration"] == [{"status": "Enabled"}]
    logging = lake_resources("aws_s3_bucket_logging")["zone"]
    assert (logging["for_each"], logging["target_bucket"], logging["target_prefix"]) == (
        "${local.zones}",
        "${aws_s3_bucket.access_logs.id}",
        "s3/${local.bucket_names[each.key]}/",
    )


def test_every_bucket_refuses_plain_http_and_zone_buckets_other_keys() -> None:
    tls = lake_policy("tls_only")
    assert tls["for_each"] == "${local.bucket_arns}"
    (deny_http,) = tls["statement"]
    assert (deny_http["effect"], deny_http["actions"]) == ("Deny", ["s3:*"])
    assert deny_http["condition"] == [
        {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
    ]
    zone = lake_policy("zone")
    assert zone["source_policy_documents"] == [
        "${data.aws_iam_policy_document.tls_only[each.key].json}"
    ]
    (other_keys,) = zone["statement"]
    assert other_keys["condition"][0]["values"] == ["${aws_kms_key.zone[each.key].arn}"]
    policies = lake_resources("aws_s3_bucket_policy")
    assert policies["zone"]["policy"] == "${data.aws_iam_policy_document.zone[each.key].json}"
    assert lake_policy("access_logs")["source_policy_documents"] == [
        '${data.aws_iam_policy_document.tls_only["access_logs"].json}'
    ]


def lifecycle_rules(bucket: str) -> dict[str, dict]:
    return {
        rule["id"]: rule
        for rule in lake_resources("aws_s3_bucket_lifecycle_configuration")[bucket]["rule"]
    }


def test_lifecycle_per_bucket_raw_ages_into_infrequent_access_then_glacier() -> None:
    raw = lifecycle_rules("raw")
    assert raw["raw-payloads-to-colder-storage"]["filter"] == [{"prefix": "raw/"}]
    assert [
        (t["days"], t["storage_class"]) for t in raw["raw-payloads-to-colder-storage"]["transition"]
    ] == [
        ("${var.raw_infrequent_access_days}", "STANDARD_IA"),
        ("${var.raw_glacier_days}", "GLACIER_IR"),
    ]
    landing = lifecycle_rules("landing")
    assert landing["landing-files-expire"]["filter"] == [{"prefix": "landing/"}]
    assert landing["landing-files-expire"]["expiration"] == [
        {"days": "${var.landing_retention_days}"}
    ]
    assert landing["quarantined-files-expire"]["filter"] == [{"prefix": "quarantine/"}]
    curated = lifecycle_rules("curated")
    assert {
        curated[rule]["filter"][0]["prefix"] for rule in ("logs-expire", "spark-staging-expire")
    } == {
        "dagster/compute-logs/",
        "spark/staging/",
    }
    for bucket in ("landing", "raw", "curated", "access_logs"):
        rules = lifecycle_rules(bucket).values()
        (every_object,) = [rule for rule in rules if rule["filter"] == [{}]]
        assert every_object["noncurrent_version_expiration"] == [
            {"noncurrent_days": "${var.noncurrent_version_expiration_days}"}
        ], bucket
        assert every_object["abort_incomplete_multipart_upload"] == [
            {"days_after_initiation": "${var.abort_incomplete_multipart_days}"}
        ], bucket
    defaults = blocks(LAKE, "variable")
    assert defaults["raw_infrequent_access_days"]["default"] == 30
    assert defaults["raw_glacier_days"]["default"] == 90
    assert defaults["landing_retention_days"]["default"] == 30


def policy_statements(module: str, name: str) -> dict[str, dict]:
    (document,) = [
        block["aws_iam_policy_document"][name]
        for block in parse(TERRAFORM / "modules" / module / "main.tf")["data"]
        if name in block.get("aws_iam_policy_document", {})
    ]
    return {statement["sid"]: statement for statement in document["statement"]}


def test_iam_is_scoped_to_the_zone_buckets() -> None:
    modules = {
        next(iter(block)): next(iter(block.values())) for block in parse(ROOT / "main.tf")["module"]
    }
    # Spark: the curated bucket and its key only.
    assert modules["emr"]["lake_bucket_arn"] == '${module.s3_lake.bucket_arns["curated"]}'
    assert modules["emr"]["lake_kms_key_arn"] == '${module.s3_lake.kms_key_arns["curated"]}'
    spark = policy_statements("emr", "spark_data")
    assert spark["UseLakeKey"]["resources"] == ["${var.lake_kms_key_arn}"]
    assert {arn for s in spark.values() for arn in s["resources"]} == {
        "${var.lake_bucket_arn}",
        "${local.lake_objects}",
        "${local.staged_objects}",
        "${var.lake_kms_key_arn}",
    }
    # The pods: each zone bucket's own prefixes, raw payloads never deleted, the three keys.
    irsa = modules["iam_dagster_irsa"]
    assert (irsa["landing_bucket_arn"], irsa["raw_bucket_arn"]) == (
        '${module.s3_lake.bucket_arns["landing"]}',
        '${module.s3_lake.bucket_arns["raw"]}',
    )
    assert irsa["kms_key_arns"] == "${values(module.s3_lake.kms_key_arns)}"
    pods = policy_statements("iam_dagster_irsa", "dagster")
    assert pods["ReadWriteLandingAndQuarantine"]["resources"] == [
        "${var.landing_bucket_arn}/landing/*",
        "${var.landing_bucket_arn}/quarantine/*",
    ]
    assert pods["ListLandingAndQuarantine"]["condition"][0]["values"] == [
        "landing/*",
        "quarantine/*",
    ]
    assert pods["ReadAndAddRawPayloads"]["actions"] == [
        "s3:GetObject",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
    ]
    assert pods["ReadAndAddRawPayloads"]["resources"] == ["${var.raw_bucket_arn}/raw/*"]
    deny = pods["RawPayloadsAreImmutable"]
    assert (deny["effect"], deny["resources"]) == ("Deny", ["${var.raw_bucket_arn}/*"])
    assert pods["UseZoneKeys"]["resources"] == "${var.kms_key_arns}"


@pytest.fixture(scope="module")
def checkov_report() -> tuple[dict, int]:
    """checkov's JSON report over terraform/ and its exit code (one run per module)."""
    assert CHECKOV.exists(), "checkov is installed by `make tools` into .venv-tools"
    result = subprocess.run(
        [
            str(CHECKOV),
            *("--directory", str(TERRAFORM), "--framework", "terraform"),
            *("--skip-download", "--output", "json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return json.loads(result.stdout), result.returncode


@pytest.mark.slow
def test_checkov_finds_no_failed_check_and_every_skip_has_a_reason(
    checkov_report: tuple[dict, int],
) -> None:
    report, returncode = checkov_report
    summary = report["summary"]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for check in report["results"]["failed_checks"]
    ]
    assert failed == [] and summary["failed"] == 0 and returncode == 0
    assert summary["parsing_errors"] == 0 and summary["passed"] > 200
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        assert re.search(r"\w+ \w+ \w+", reason), f"{check['check_id']}: no written reason"


# checkov's graph checks of a bucket: public access block, lifecycle configuration, SSE-KMS by
# default, access logging, versioning.
BUCKET_CONTROLS = {"CKV2_AWS_6", "CKV2_AWS_61", "CKV_AWS_145", "CKV_AWS_18", "CKV_AWS_21"}


@pytest.mark.slow
def test_checkov_sees_every_control_on_each_zone_bucket(checkov_report: tuple[dict, int]) -> None:
    report, _ = checkov_report
    passed: dict[str, set[str]] = {}
    for check in report["results"]["passed_checks"]:
        passed.setdefault(check["resource"], set()).add(check["check_id"])
    for zone in ("landing", "raw", "curated"):
        bucket = f'module.s3_lake.aws_s3_bucket.zone["{zone}"]'
        assert passed[bucket] >= BUCKET_CONTROLS, f"{zone}: {BUCKET_CONTROLS - passed[bucket]}"
        assert "CKV_AWS_7" in passed[f'module.s3_lake.aws_kms_key.zone["{zone}"]']  # rotation
        lifecycle = f"module.s3_lake.aws_s3_bucket_lifecycle_configuration.{zone}"
        assert "CKV_AWS_300" in passed[lifecycle]  # aborts incomplete uploads
