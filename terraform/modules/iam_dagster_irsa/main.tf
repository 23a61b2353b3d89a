# The IAM role of the Dagster pods (code server, runs, steps), assumed through IRSA by the one
# Kubernetes service account of the Helm release. It may read and write the lake root of the
# curated bucket, stage Spark jobs and write step logs there; read and write landing/ and
# quarantine/ of the landing bucket; read and add raw payloads in the raw bucket (never delete
# them); use the three zone keys; start and follow the EMR clusters and EMR Serverless job runs
# of fin_assets, and pass only fin_assets' EMR roles.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # The tag Dagster Pipes sets on the EMR clusters of a run (DagsterRun.dagster_execution_info).
  dagster_run_tag = "dagster/run-id"
  account_id      = data.aws_caller_identity.current.account_id
  partition       = data.aws_partition.current.partition
  region          = data.aws_region.current.region
  emr_cluster     = "arn:${local.partition}:elasticmapreduce:${local.region}:${local.account_id}:cluster/*"
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${var.service_account}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "dagster" {
  name                 = "${var.name_prefix}-dagster"
  description          = "IRSA role of the fin_assets Dagster pods (${var.namespace}/${var.service_account})."
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "dagster" {
  statement {
    sid       = "ListCuratedPrefixes"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.lake_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.lake_prefix}/*", "spark/*", "${var.compute_log_prefix}/*"]
    }
  }
  statement {
    sid     = "ReadWriteLakeStagingAndLogs"
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = [
      "${var.lake_bucket_arn}/${var.lake_prefix}/*",
      "${var.lake_bucket_arn}/spark/*",
      "${var.lake_bucket_arn}/${var.compute_log_prefix}/*",
    ]
  }
  statement {
    sid       = "ListLandingAndQuarantine"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.landing_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["landing/*", "quarantine/*"]
    }
  }
  # The sensor and the ingest read landing files, the stream writer writes them, a rejected file
  # moves (copy, then delete) to quarantine/ beside its error report.
  statement {
    sid     = "ReadWriteLandingAndQuarantine"
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = [
      "${var.landing_bucket_arn}/landing/*",
      "${var.landing_bucket_arn}/quarantine/*",
    ]
  }
  statement {
    sid       = "ListRaw"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.raw_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["raw/*"]
    }
  }
  statement {
    sid       = "ReadAndAddRawPayloads"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${var.raw_bucket_arn}/raw/*"]
  }
  statement {
    sid       = "RawPayloadsAreImmutable"
    effect    = "Deny"
    actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = ["${var.raw_bucket_arn}/*"]
  }
  statement {
    sid       = "UseZoneKeys"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = var.kms_key_arns
  }
  # RunJobFlow has no resource-level permissions: it is limited to requests carrying the tag
  # Dagster Pipes puts on every cluster it starts; the other actions to clusters bearing it.
  statement {
    sid       = "StartEmrClustersFromDagster"
    actions   = ["elasticmapreduce:RunJobFlow", "elasticmapreduce:AddTags"]
    resources = ["*"]
    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "aws:TagKeys"
      values   = [local.dagster_run_tag]
    }
  }
  statement {
    sid = "FollowDagsterEmrClusters"
    actions = [
      "elasticmapreduce:DescribeCluster",
      "elasticmapreduce:DescribeStep",
      "elasticmapreduce:ListSteps",
      "elasticmapreduce:TerminateJobFlows",
      "elasticmapreduce:CancelSteps",
    ]
    resources = [local.emr_cluster]
    condition {
      test     = "Null"
      variable = "aws:ResourceTag/${local.dagster_run_tag}"
      values   = ["false"]
    }
  }
  statement {
    sid       = "PassEmrRoles"
    actions   = ["iam:PassRole"]
    resources = [var.emr_service_role_arn, var.emr_instance_role_arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["elasticmapreduce.amazonaws.com", "ec2.amazonaws.com"]
    }
  }
  statement {
    sid = "RunEmrServerlessJobs"
    actions = [
      "emr-serverless:StartJobRun",
      "emr-serverless:GetJobRun",
      "emr-serverless:CancelJobRun",
      "emr-serverless:GetDashboardForJobRun",
      "emr-serverless:GetApplication",
      "emr-serverless:StartApplication",
    ]
    resources = [var.emr_serverless_application_arn, "${var.emr_serverless_application_arn}/jobruns/*"]
  }
  statement {
    sid       = "PassEmrServerlessJobRole"
    actions   = ["iam:PassRole"]
    resources = [var.emr_serverless_job_role_arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["emr-serverless.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "dagster" {
  name   = "fin-assets"
  role   = aws_iam_role.dagster.id
  policy = data.aws_iam_policy_document.dagster.json
}
