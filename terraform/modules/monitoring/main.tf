# The AWS side of fin_assets' alerting (docs/operations.md): failed Spark work on EMR and EMR
# Serverless, and S3 server errors on the lake's buckets, published to one SNS topic.
#
# - EMR on EC2 clusters are transient (one per job, fin_assets.resources.spark_emr), so no
#   CloudWatch alarm can name them in advance: EventBridge rules catch every failed step and
#   every cluster terminated with errors, and publish the event to the topic.
# - EMR Serverless: a CloudWatch alarm on the application's FailedJobs metric, plus an
#   EventBridge rule for each failed job run (the run's ID and error reach the topic).
# - S3: request metrics on every zone bucket and an alarm on its 5xxErrors.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # EventBridge rules publishing to the topic: name => event pattern.
  failure_events = {
    emr-step-failed = {
      source        = ["aws.emr"]
      "detail-type" = ["EMR Step Status Change"]
      detail        = { state = ["FAILED"] }
    }
    emr-cluster-failed = {
      source        = ["aws.emr"]
      "detail-type" = ["EMR Cluster State Change"]
      detail        = { state = ["TERMINATED_WITH_ERRORS"] }
    }
    emr-serverless-job-failed = {
      source        = ["aws.emr-serverless"]
      "detail-type" = ["EMR Serverless Job Run State Change"]
      detail        = { state = ["FAILED"], applicationId = [var.emr_serverless_application_id] }
    }
  }
}

data "aws_iam_policy_document" "alerts_key" {
  # checkov:skip=CKV_AWS_109:A key policy's Resource "*" means this key; administration stays with the account root, as AWS's default key policy.
  # checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key; write access is delegated to IAM policies of this account.
  # checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key; it cannot name its own ARN.
  statement {
    sid       = "AccountAdministersThroughIAM"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
  # EventBridge and CloudWatch alarms publish to an encrypted topic only with these.
  statement {
    sid       = "AlarmAndEventServicesPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "alerts" {
  description             = "${var.name_prefix} alerts: SSE of the alerts SNS topic"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.alerts_key.json
}

resource "aws_kms_alias" "alerts" {
  name          = "alias/${var.name_prefix}-alerts"
  target_key_id = aws_kms_key.alerts.key_id
}

resource "aws_sns_topic" "alerts" {
  name              = "${var.name_prefix}-alerts"
  kms_master_key_id = aws_kms_key.alerts.arn
}

data "aws_iam_policy_document" "alerts_topic" {
  statement {
    sid       = "AlarmsAndFailureEventsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.alerts_topic.json
}

resource "aws_cloudwatch_event_rule" "failure" {
  for_each      = local.failure_events
  name          = "${var.name_prefix}-${each.key}"
  description   = "fin_assets: ${each.key} events to the alerts topic"
  event_pattern = jsonencode(each.value)
}

resource "aws_cloudwatch_event_target" "failure" {
  for_each = local.failure_events
  rule     = aws_cloudwatch_event_rule.failure[each.key].name
  arn      = aws_sns_topic.alerts.arn
}

resource "aws_cloudwatch_metric_alarm" "emr_serverless_failed_jobs" {
  alarm_name          = "${var.name_prefix}-emr-serverless-failed-jobs"
  alarm_description   = "fin_assets: an EMR Serverless Spark job failed (runbook: docs/operations.md)."
  namespace           = "AWS/EMRServerless"
  metric_name         = "FailedJobs"
  dimensions          = { ApplicationId = var.emr_serverless_application_id }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}

resource "aws_s3_bucket_metric" "requests" {
  for_each = var.bucket_names
  bucket   = each.value
  name     = "EntireBucket"
}

resource "aws_cloudwatch_metric_alarm" "s3_5xx" {
  for_each            = var.bucket_names
  alarm_name          = "${var.name_prefix}-s3-${each.key}-5xx"
  alarm_description   = "fin_assets: S3 answered server errors on the ${each.key} bucket (runbook: docs/operations.md)."
  namespace           = "AWS/S3"
  metric_name         = "5xxErrors"
  dimensions          = { BucketName = each.value, FilterId = aws_s3_bucket_metric.requests[each.key].name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.s3_5xx_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}
