output "service_role_name" {
  description = "EMR service role of the clusters (RunJobFlow ServiceRole)."
  value       = aws_iam_role.emr_service.name
}

output "service_role_arn" {
  description = "ARN of the EMR service role (passed by the Dagster pods)."
  value       = aws_iam_role.emr_service.arn
}

output "instance_profile_name" {
  description = "Instance profile of the cluster nodes (RunJobFlow JobFlowRole)."
  value       = aws_iam_instance_profile.emr_instance.name
}

output "instance_role_arn" {
  description = "ARN of the cluster nodes' role (passed by the Dagster pods)."
  value       = aws_iam_role.emr_instance.arn
}

output "security_configuration_name" {
  description = "EMR security configuration of the clusters (RunJobFlow SecurityConfiguration)."
  value       = aws_emr_security_configuration.this.name
}

output "serverless_application_id" {
  description = "FIN_EMR_SERVERLESS_APPLICATION_ID."
  value       = aws_emrserverless_application.spark.id
}

output "serverless_application_arn" {
  description = "ARN of the EMR Serverless application."
  value       = aws_emrserverless_application.spark.arn
}

output "serverless_job_role_arn" {
  description = "FIN_EMR_SERVERLESS_ROLE_ARN: execution role of the job runs."
  value       = aws_iam_role.emr_serverless_job.arn
}

output "tls_certificates_url" {
  description = "Where the security configuration reads the zip of PEM certificates for in-transit TLS."
  value       = local.tls_certificates_url
}
