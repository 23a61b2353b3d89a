"""terraform/modules/monitoring: AWS-side failures and S3 errors reach one encrypted SNS topic."""

from fin_assets_tests.deploy.terraform import ROOT, TERRAFORM, parse, resource

MAIN = TERRAFORM / "modules" / "monitoring" / "main.tf"
TOPIC = "${aws_sns_topic.alerts.arn}"


def test_failed_emr_steps_clusters_and_serverless_jobs_are_routed_to_the_topic() -> None:
    [local_block] = parse(MAIN)["locals"]
    events = local_block["failure_events"]
    assert events["emr-step-failed"]["detail"] == {"state": ["FAILED"]}
    assert events["emr-step-failed"]["detail-type"] == ["EMR Step Status Change"]
    assert events["emr-cluster-failed"]["detail"] == {"state": ["TERMINATED_WITH_ERRORS"]}
    serverless = events["emr-serverless-job-failed"]
    assert serverless["source"] == ["aws.emr-serverless"]
    assert serverless["detail"]["state"] == ["FAILED"]
    target = resource(MAIN, "aws_cloudwatch_event_target", "failure")
    assert target["for_each"] == "${local.failure_events}" and target["arn"] == TOPIC


def test_alarms_publish_to_the_encrypted_topic() -> None:
    serverless = resource(MAIN, "aws_cloudwatch_metric_alarm", "emr_serverless_failed_jobs")
    assert (serverless["namespace"], serverless["metric_name"]) == (
        "AWS/EMRServerless",
        "FailedJobs",
    )
    s3 = resource(MAIN, "aws_cloudwatch_metric_alarm", "s3_5xx")
    assert (s3["namespace"], s3["metric_name"]) == ("AWS/S3", "5xxErrors")
    assert s3["for_each"] == "${var.bucket_names}"
    for alarm in (serverless, s3):
        assert alarm["alarm_actions"] == [TOPIC] and alarm["ok_actions"] == [TOPIC]
        assert alarm["treat_missing_data"] == "notBreaching"
    topic = resource(MAIN, "aws_sns_topic", "alerts")
    assert topic["kms_master_key_id"] == "${aws_kms_key.alerts.arn}"


def test_the_root_wires_every_zone_bucket_and_the_serverless_application() -> None:
    modules = {
        name: body for block in parse(ROOT / "main.tf")["module"] for name, body in block.items()
    }
    monitoring = modules["monitoring"]
    assert monitoring["bucket_names"] == "${module.s3_lake.bucket_names}"
    assert monitoring["emr_serverless_application_id"] == "${module.emr.serverless_application_id}"
