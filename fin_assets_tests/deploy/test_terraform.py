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
    resource,
    tf_files,
)

CHECKOV = REPOSITORY / ".venv-tools" / "bin" / "checkov"


@pytest.mark.parametrize("path", tf_files(), ids=lambda path: str(path.relative_to(TERRAFORM)))
def test_every_terraform_file_parses(path) -> None:
    assert parse(path), f"{path} declares nothing"


def test_layout_is_the_four_modules_and_one_root_for_dev_and_prod() -> None:
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


def test_raw_payloads_age_into_infrequent_access_then_glacier() -> None:
    lake = TERRAFORM / "modules" / "s3_lake" / "main.tf"
    lifecycle = resource(lake, "aws_s3_bucket_lifecycle_configuration", "lake")
    rules = {rule["id"]: rule for rule in lifecycle["rule"]}
    raw = rules["raw-payloads-to-colder-storage"]
    assert raw["filter"] == [{"prefix": "${var.lake_prefix}/raw/"}]
    assert [(t["days"], t["storage_class"]) for t in raw["transition"]] == [
        ("${var.raw_infrequent_access_days}", "STANDARD_IA"),
        ("${var.raw_glacier_days}", "GLACIER_IR"),
    ]
    every_object = rules["noncurrent-versions-and-incomplete-uploads"]
    assert every_object["filter"] == [{}]
    assert "noncurrent_version_expiration" in every_object
    assert "abort_incomplete_multipart_upload" in every_object
    defaults = blocks(TERRAFORM / "modules" / "s3_lake", "variable")
    assert defaults["raw_infrequent_access_days"]["default"] == 30
    assert defaults["raw_glacier_days"]["default"] == 90


@pytest.mark.slow
def test_checkov_finds_no_failed_check_and_every_skip_has_a_reason() -> None:
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
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for check in report["results"]["failed_checks"]
    ]
    assert failed == [] and summary["failed"] == 0 and result.returncode == 0
    assert summary["parsing_errors"] == 0 and summary["passed"] > 150
    for check in report["results"]["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment", "")
        assert re.search(r"\w+ \w+ \w+", reason), f"{check['check_id']}: no written reason"
