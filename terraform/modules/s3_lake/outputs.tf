output "bucket_names" {
  description = "Names of the zone buckets, by zone: landing, raw, curated."
  value       = { for zone, bucket in aws_s3_bucket.zone : zone => bucket.id }
}

output "bucket_arns" {
  description = "ARNs of the zone buckets, by zone: landing, raw, curated."
  value       = { for zone, bucket in aws_s3_bucket.zone : zone => bucket.arn }
}

output "kms_key_arns" {
  description = "ARNs of the zones' dedicated KMS keys (SSE-KMS of every object of the zone's bucket), by zone."
  value       = { for zone, key in aws_kms_key.zone : zone => key.arn }
}

output "lake_prefix" {
  description = "Key prefix of the lake root in the curated bucket."
  value       = var.lake_prefix
}

output "lake_url" {
  description = "FIN_LAKE_URL of fin_assets: the lake root, holding the curated datasets."
  value       = "s3://${aws_s3_bucket.zone["curated"].id}/${var.lake_prefix}"
}

output "landing_url" {
  description = "FIN_LANDING_URL of fin_assets: root of the landing zone (landing/ and quarantine/ keys)."
  value       = "s3://${aws_s3_bucket.zone["landing"].id}"
}

output "raw_url" {
  description = "FIN_RAW_URL of fin_assets: root of the raw zone (raw/ keys)."
  value       = "s3://${aws_s3_bucket.zone["raw"].id}"
}

output "spark_staging_url" {
  description = "FIN_SPARK_STAGING_URI: where the Spark runners stage code and read job messages."
  value       = "s3://${aws_s3_bucket.zone["curated"].id}/spark/staging"
}

output "spark_archive_url" {
  description = "FIN_EMR_SERVERLESS_PYTHON_ARCHIVE: the venv-pack archive uploaded by the deployment (docs/deploy.md)."
  value       = "s3://${aws_s3_bucket.zone["curated"].id}/spark/archives/fin_assets-venv.tar.gz"
}

output "compute_log_bucket_name" {
  description = "Bucket of the Dagster step logs (S3ComputeLogManager): the curated bucket."
  value       = aws_s3_bucket.zone["curated"].id
}

output "compute_log_prefix" {
  description = "Key prefix of the Dagster step logs (S3ComputeLogManager) in the curated bucket."
  value       = "dagster/compute-logs"
}

output "access_log_bucket_name" {
  description = "Bucket receiving the zone buckets' S3 server access logs."
  value       = aws_s3_bucket.access_logs.id
}

output "region" {
  description = "Region of the buckets."
  value       = data.aws_region.current.region
}
