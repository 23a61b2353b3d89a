output "bucket_name" {
  description = "Name of the lake bucket."
  value       = aws_s3_bucket.lake.id
}

output "bucket_arn" {
  description = "ARN of the lake bucket."
  value       = aws_s3_bucket.lake.arn
}

output "kms_key_arn" {
  description = "ARN of the lake's dedicated KMS key (SSE-KMS of every object)."
  value       = aws_kms_key.lake.arn
}

output "lake_prefix" {
  description = "Key prefix of the lake root in the bucket."
  value       = var.lake_prefix
}

output "lake_url" {
  description = "FIN_LAKE_URL of fin_assets: the lake root."
  value       = "s3://${aws_s3_bucket.lake.id}/${var.lake_prefix}"
}

output "spark_staging_url" {
  description = "FIN_SPARK_STAGING_URI: where the Spark runners stage code and read job messages."
  value       = "s3://${aws_s3_bucket.lake.id}/spark/staging"
}

output "spark_archive_url" {
  description = "FIN_EMR_SERVERLESS_PYTHON_ARCHIVE: the venv-pack archive uploaded by the deployment (docs/deploy.md)."
  value       = "s3://${aws_s3_bucket.lake.id}/spark/archives/fin_assets-venv.tar.gz"
}

output "compute_log_prefix" {
  description = "Key prefix of the Dagster step logs (S3ComputeLogManager)."
  value       = "dagster/compute-logs"
}

output "access_log_bucket_name" {
  description = "Bucket receiving the lake's S3 server access logs."
  value       = aws_s3_bucket.access_logs.id
}

output "region" {
  description = "Region of the buckets."
  value       = data.aws_region.current.region
}
