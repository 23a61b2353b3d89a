# The lake: one bucket per zone, as fin_assets names its keys (fin_assets/resources/lake.py):
# - landing: files dropped by producers (landing/) and rejected ones with their error reports
#   (quarantine/); FIN_LANDING_URL is the bucket's root, so a quarantine move stays in it;
# - raw: immutable vendor payloads and recorded vendor answers (raw/); FIN_RAW_URL is its root;
# - curated: the datasets under the lake root (FIN_LAKE_URL = s3://<bucket>/<lake_prefix>) and,
#   beside it, spark/staging/ (each Spark run's staged code, messages and logs), spark/archives/
#   (the Python environment of EMR Serverless), emr-tls/ (EMR's certificates) and
#   dagster/compute-logs/ (step logs).
# A fourth bucket receives the S3 server access logs of the three.
#
# One KMS key per zone bucket: the key boundary is the access boundary. Spark (EMR roles) gets
# the curated key only, so even a mis-scoped S3 grant cannot decrypt raw payloads or landing
# files; a producer can be given the landing key alone; CloudTrail shows decrypts per zone. The
# cost is one dollar a month per key, and S3 Bucket Keys keep the request charges per bucket.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id        = data.aws_caller_identity.current.account_id
  zones             = toset(["landing", "raw", "curated"])
  bucket_names      = { for zone in local.zones : zone => "${var.name_prefix}-${zone}-${local.account_id}" }
  access_log_bucket = "${var.name_prefix}-access-logs-${local.account_id}"
  # Every bucket, zones and access logs (spelled out: checkov's graph follows literal maps).
  buckets = {
    landing     = aws_s3_bucket.zone["landing"].id
    raw         = aws_s3_bucket.zone["raw"].id
    curated     = aws_s3_bucket.zone["curated"].id
    access_logs = aws_s3_bucket.access_logs.id
  }
  bucket_arns = {
    landing     = aws_s3_bucket.zone["landing"].arn
    raw         = aws_s3_bucket.zone["raw"].arn
    curated     = aws_s3_bucket.zone["curated"].arn
    access_logs = aws_s3_bucket.access_logs.arn
  }
}

# A dedicated key per zone: only this account's principals that IAM allows may use it.
data "aws_iam_policy_document" "zone_key" {
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

resource "aws_kms_key" "zone" {
  for_each                = local.zones
  description             = "${var.name_prefix} lake, ${each.key} zone: SSE-KMS of every object of its bucket"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.zone_key.json
}

resource "aws_kms_alias" "zone" {
  for_each      = local.zones
  name          = "alias/${var.name_prefix}-${each.key}"
  target_key_id = aws_kms_key.zone[each.key].key_id
}

resource "aws_s3_bucket" "zone" {
  # checkov:skip=CKV_AWS_144:Single-region by design: versioned and KMS-encrypted; cross-region replication doubles storage cost and is a decision per deployment (docs/deploy.md).
  # checkov:skip=CKV2_AWS_62:Nothing consumes bucket events: Dagster sensors list the landing prefix.
  for_each      = local.zones
  bucket        = local.bucket_names[each.key]
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

# Every bucket: ACLs disabled, no public access, every object versioned.
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

resource "aws_s3_bucket_server_side_encryption_configuration" "zone" {
  for_each = local.zones
  bucket   = aws_s3_bucket.zone[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.zone[each.key].arn
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

resource "aws_s3_bucket_logging" "zone" {
  for_each      = local.zones
  bucket        = aws_s3_bucket.zone[each.key].id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "s3/${local.bucket_names[each.key]}/"
}

# Lifecycle per bucket (versioning must be on before noncurrent-version rules apply). Every
# bucket expires replaced or deleted versions and aborts incomplete multipart uploads.

resource "aws_s3_bucket_lifecycle_configuration" "landing" {
  bucket     = aws_s3_bucket.zone["landing"].id
  depends_on = [aws_s3_bucket_versioning.this]

  # A landing file stays in place once accepted (its rows are in the raw bucket then); a
  # sensor tick only looks at files newer than its cursor, so old ones can go.
  rule {
    id     = "landing-files-expire"
    status = "Enabled"
    filter {
      prefix = "landing/"
    }
    expiration {
      days = var.landing_retention_days
    }
  }

  rule {
    id     = "quarantined-files-expire"
    status = "Enabled"
    filter {
      prefix = "quarantine/"
    }
    expiration {
      days = var.quarantine_retention_days
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

resource "aws_s3_bucket_lifecycle_configuration" "raw" {
  bucket     = aws_s3_bucket.zone["raw"].id
  depends_on = [aws_s3_bucket_versioning.this]

  # Payloads are kept (partitions can be rebuilt from them), in colder classes as they age.
  rule {
    id     = "raw-payloads-to-colder-storage"
    status = "Enabled"
    filter {
      prefix = "raw/"
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

resource "aws_s3_bucket_lifecycle_configuration" "curated" {
  bucket     = aws_s3_bucket.zone["curated"].id
  depends_on = [aws_s3_bucket_versioning.this]

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
  depends_on = [aws_s3_bucket_versioning.this]

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

# Every bucket refuses plain-HTTP requests.
data "aws_iam_policy_document" "tls_only" {
  for_each = local.bucket_arns
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

# A zone bucket also refuses uploads that name another key than its own.
data "aws_iam_policy_document" "zone" {
  for_each                = local.zones
  source_policy_documents = [data.aws_iam_policy_document.tls_only[each.key].json]
  statement {
    sid       = "DenyOtherKmsKeys"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.zone[each.key].arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEqualsIfExists"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [aws_kms_key.zone[each.key].arn]
    }
  }
}

resource "aws_s3_bucket_policy" "zone" {
  for_each = local.zones
  bucket   = aws_s3_bucket.zone[each.key].id
  policy   = data.aws_iam_policy_document.zone[each.key].json
  # A bucket policy cannot be written while the public access block is being created.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# The S3 logging service delivers each zone bucket's logs under s3/<bucket>/.
data "aws_iam_policy_document" "access_logs" {
  source_policy_documents = [data.aws_iam_policy_document.tls_only["access_logs"].json]
  statement {
    sid       = "S3ServerAccessLogsFromTheLake"
    actions   = ["s3:PutObject"]
    resources = [for name in values(local.bucket_names) : "${aws_s3_bucket.access_logs.arn}/s3/${name}/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [for bucket in aws_s3_bucket.zone : bucket.arn]
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
  depends_on = [aws_s3_bucket_public_access_block.this]
}
