# Spark on AWS: the roles and security configuration of the transient EMR clusters that
# fin_assets' EMR runner starts per run (FIN_SPARK=emr), and the EMR Serverless application of
# FIN_SPARK=emr-serverless. Spark reads and writes only the curated bucket's lake root and its
# own staging prefix, with the curated bucket's key: the landing and raw buckets (and their
# keys) are out of its reach, since Spark jobs read curated datasets only.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id           = data.aws_caller_identity.current.account_id
  partition            = data.aws_partition.current.partition
  lake_objects         = "${var.lake_bucket_arn}/${var.lake_prefix}/*"
  staged_objects       = "${var.lake_bucket_arn}/spark/*"
  bucket_name          = element(split(":::", var.lake_bucket_arn), 1)
  tls_certificates_url = "s3://${local.bucket_name}/emr-tls/certificates.zip"
}

# What a Spark job may touch: the lake root and the staging prefix of the curated bucket, with
# the curated key.
data "aws_iam_policy_document" "spark_data" {
  statement {
    sid       = "ListLakeAndStaging"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.lake_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.lake_prefix}/*", "spark/*"]
    }
  }
  statement {
    sid       = "ReadLakeAndStaging"
    actions   = ["s3:GetObject"]
    resources = [local.lake_objects, local.staged_objects]
  }
  statement {
    sid       = "WriteCuratedAndStaging"
    actions   = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = [local.lake_objects, local.staged_objects]
  }
  statement {
    sid       = "UseLakeKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.lake_kms_key_arn]
  }
}

# --- EMR on EC2: service role, instance profile, security configuration ----------------------

data "aws_iam_policy_document" "emr_service_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["elasticmapreduce.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "emr_service" {
  name               = "${var.name_prefix}-emr-service"
  description        = "EMR service role of the clusters fin_assets starts (AmazonEMRServicePolicy_v2)."
  assume_role_policy = data.aws_iam_policy_document.emr_service_trust.json
}

# The v2 managed policy only acts on resources tagged for-use-with-amazon-emr-managed-policies.
resource "aws_iam_role_policy_attachment" "emr_service" {
  role       = aws_iam_role.emr_service.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"
}

data "aws_iam_policy_document" "emr_service_pass_instance_role" {
  statement {
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.emr_instance.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "emr_service_pass_instance_role" {
  name   = "pass-instance-role"
  role   = aws_iam_role.emr_service.id
  policy = data.aws_iam_policy_document.emr_service_pass_instance_role.json
}

data "aws_iam_policy_document" "ec2_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "emr_instance" {
  name               = "${var.name_prefix}-emr-instance"
  description        = "Role of the EMR cluster nodes: the lake and Spark staging prefixes only."
  assume_role_policy = data.aws_iam_policy_document.ec2_trust.json
}

resource "aws_iam_role_policy" "emr_instance_data" {
  name   = "lake-data"
  role   = aws_iam_role.emr_instance.id
  policy = data.aws_iam_policy_document.spark_data.json
}

data "aws_iam_policy_document" "emr_instance_tls" {
  statement {
    sid       = "ReadTlsCertificates"
    actions   = ["s3:GetObject"]
    resources = ["${var.lake_bucket_arn}/emr-tls/*"]
  }
}

resource "aws_iam_role_policy" "emr_instance_tls" {
  name   = "tls-certificates"
  role   = aws_iam_role.emr_instance.id
  policy = data.aws_iam_policy_document.emr_instance_tls.json
}

resource "aws_iam_instance_profile" "emr_instance" {
  name = "${var.name_prefix}-emr-instance"
  role = aws_iam_role.emr_instance.name
}

# At rest: S3 objects SSE-KMS and local disks (EBS and instance store) with the curated key.
# In transit: TLS between the nodes with the certificates of the zip at
# s3://<curated bucket>/emr-tls/certificates.zip (the deployment's own PKI, uploaded before the
# first cluster starts: docs/deploy.md), readable by the cluster nodes only.
resource "aws_emr_security_configuration" "this" {
  name = "${var.name_prefix}-emr"
  configuration = jsonencode({
    EncryptionConfiguration = {
      EnableAtRestEncryption    = true
      EnableInTransitEncryption = true
      InTransitEncryptionConfiguration = {
        TLSCertificateConfiguration = {
          CertificateProviderType = "PEM"
          S3Object                = local.tls_certificates_url
        }
      }
      AtRestEncryptionConfiguration = {
        S3EncryptionConfiguration = {
          EncryptionMode = "SSE-KMS"
          AwsKmsKey      = var.lake_kms_key_arn
        }
        LocalDiskEncryptionConfiguration = {
          EncryptionKeyProviderType = "AwsKms"
          AwsKmsKey                 = var.lake_kms_key_arn
          EnableEbsEncryption       = true
        }
      }
    }
    InstanceMetadataServiceConfiguration = {
      MinimumInstanceMetadataServiceVersion = 2
      HttpPutResponseHopLimit               = 1
    }
  })
}

# --- EMR Serverless ----------------------------------------------------------------------------

resource "aws_emrserverless_application" "spark" {
  name          = "${var.name_prefix}-spark"
  release_label = var.release_label
  type          = "spark"
  # Graviton: about 20% cheaper per vCPU-hour than x86 for the same Spark job.
  architecture = "ARM64"

  maximum_capacity {
    cpu    = "${var.serverless_max_vcpu} vCPU"
    memory = "${var.serverless_max_memory_gb} GB"
  }

  # No pre-initialized capacity: billed only while jobs run, stopped when idle.
  auto_start_configuration {
    enabled = true
  }
  auto_stop_configuration {
    enabled              = true
    idle_timeout_minutes = var.serverless_idle_timeout_minutes
  }

  dynamic "network_configuration" {
    for_each = length(var.subnet_ids) > 0 ? [1] : []
    content {
      subnet_ids         = var.subnet_ids
      security_group_ids = var.security_group_ids
    }
  }
}

data "aws_iam_policy_document" "emr_serverless_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["emr-serverless.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:emr-serverless:${data.aws_region.current.region}:${local.account_id}:/applications/*"]
    }
  }
}

resource "aws_iam_role" "emr_serverless_job" {
  name               = "${var.name_prefix}-emr-serverless-job"
  description        = "Execution role of fin_assets' EMR Serverless job runs: the lake and Spark staging prefixes only."
  assume_role_policy = data.aws_iam_policy_document.emr_serverless_trust.json
}

resource "aws_iam_role_policy" "emr_serverless_job_data" {
  name   = "lake-data"
  role   = aws_iam_role.emr_serverless_job.id
  policy = data.aws_iam_policy_document.spark_data.json
}
