output "alerts_topic_arn" {
  description = "ARN of the SNS topic every AWS-side alarm and failure event publishes to: subscribe the on-call relay (the same receiver as Alertmanager's webhook) to it."
  value       = aws_sns_topic.alerts.arn
}
