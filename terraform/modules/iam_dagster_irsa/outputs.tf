output "role_arn" {
  description = "ARN of the Dagster pods' role: the eks.amazonaws.com/role-arn annotation of the service account."
  value       = aws_iam_role.dagster.arn
}

output "role_name" {
  description = "Name of the Dagster pods' role."
  value       = aws_iam_role.dagster.name
}
