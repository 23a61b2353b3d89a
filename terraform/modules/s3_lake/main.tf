# The lake: one bucket whose prefixes are the zones fin_assets writes under its lake root
# (FIN_LAKE_URL = s3://<bucket>/<lake_prefix>): landing/ (files dropped by producers),
# raw/ (immutable vendor payloads), quarantine/ (rejected landing files) and one prefix per
# curated dataset. Beside the lake root: spark/staging/ (each Spark run's staged code, messages
# and logs), spark/archives/ (the Python environment of EMR Serverless) and dagster/compute-logs/
# (step logs). A second bucket receives the S3 server access logs.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id        = data.aws_caller_identity.current.account_id
  lake_bucket       = "${var.name_prefix}-lake-${local.account_id}"
  access_log_bucket = "${var.name_prefix}-access-logs-${local.account_id}"
  buckets = {
    lake        = aws_s3_bucket.lake.id
    access_logs = aws_s3_bucket.access_logs.id
  }
}

# A dedicated key for the lake: only this account's principals that IAM allows may use it.
data "aws_iam_policy_document" "lake_key" {
  # checkov:skip=CKV_AWS_109:A key policy's Resource "*" means this key; administration stays with the account root, as AWS's default key policy.
  # checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key; write access is delegated to IAM policies of this account.
  # checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key; it cannot name its own ARN.
  statement {
    sid       = "AccountAdministersThroughIAM"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "lake" {
  description             = "${var.name_prefix} lake: SSE-KMS of every object"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.lake_key.json
}

resource "aws_kms_alias" "lake" {
  name          = "alias/${var.name_prefix}-lake"
  target_key_id = aws_kms_key.lake.key_id
}

resource "aws_s3_bucket" "lake" {
  # checkov:skip=CKV_AWS_144:Single-region by design: versioned and KMS-encrypted; cross-region replication doubles storage cost and is a decision per deployment (docs/deploy.md).
  # checkov:skip=CKV2_AWS_62:Nothing consumes bucket events: Dagster sensors list the landing prefix.
  bucket        = local.lake_bucket
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket" "access_logs" {
  # checkov:skip=CKV_AWS_18:This is the access-log target; logging it to itself would log its own log deliveries.
  # checkov:skip=CKV_AWS_144:Access logs stay in the lake's region; replication is not worth its cost for them.
  # checkov:skip=CKV2_AWS_62:Nothing consumes access-log bucket events.
  # checkov:skip=CKV_AWS_145:S3 server access logging delivers only to buckets encrypted with SSE-S3 (AES256), not SSE-KMS.
  bucket        = local.access_log_bucket
  force_destroy = var.force_destroy
}

# Both buckets: ACLs disabled, no public access, every object versioned.
resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets
  bucket   = each.value
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each                = local.buckets
  bucket                  = each.value
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets
  bucket   = each.value
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.lake.arn
    }
    # One data key per bucket instead of per object: far fewer KMS requests (cost).
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_logging" "lake" {
  bucket        = aws_s3_bucket.lake.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "s3/${local.lake_bucket}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id
  # Versioning must be on before noncurrent-version rules apply.
  depends_on = [aws_s3_bucket_versioning.this["lake"]]

  rule {
    id     = "raw-payloads-to-colder-storage"
    status = "Enabled"
    filter {
      prefix = "${var.lake_prefix}/raw/"
    }
    transition {
      days          = var.raw_infrequent_access_days
      storage_class = "STANDARD_IA"
    }
    transition {
      days          = var.raw_glacier_days
      storage_class = "GLACIER_IR"
    }
  }

  rule {
    id     = "logs-expire"
    status = "Enabled"
    filter {
      prefix = "dagster/compute-logs/"
    }
    expiration {
      days = var.compute_log_retention_days
    }
  }

  rule {
    id     = "spark-staging-expire"
    status = "Enabled"
    filter {
      prefix = "spark/staging/"
    }
    expiration {
      days = var.compute_log_retention_days
    }
  }

  rule {
    id     = "noncurrent-versions-and-incomplete-uploads"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket     = aws_s3_bucket.access_logs.id
  depends_on = [aws_s3_bucket_versioning.this["access_logs"]]

  rule {
    id     = "access-logs-expire"
    status = "Enabled"
    filter {}
    expiration {
      days = var.access_log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }
}

# Both buckets refuse plain-HTTP requests.
data "aws_iam_policy_document" "tls_only" {
  for_each = {
    lake        = aws_s3_bucket.lake.arn
    access_logs = aws_s3_bucket.access_logs.arn
  }
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value, "${each.value}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

# The lake also refuses uploads that name another key than its own.
data "aws_iam_policy_document" "lake" {
  source_policy_documents = [data.aws_iam_policy_document.tls_only["lake"].json]
  statement {
    sid       = "DenyOtherKmsKeys"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.lake.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEqualsIfExists"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [aws_kms_key.lake.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "lake" {
  bucket = aws_s3_bucket.lake.id
  policy = data.aws_iam_policy_document.lake.json
  # A bucket policy cannot be written while the public access block is being created.
  depends_on = [aws_s3_bucket_public_access_block.this["lake"]]
}

data "aws_iam_policy_document" "access_logs" {
  source_policy_documents = [data.aws_iam_policy_document.tls_only["access_logs"].json]
  statement {
    sid       = "S3ServerAccessLogsFromTheLake"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/s3/${local.lake_bucket}/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.lake.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket     = aws_s3_bucket.access_logs.id
  policy     = data.aws_iam_policy_document.access_logs.json
  depends_on = [aws_s3_bucket_public_access_block.this["access_logs"]]
}
