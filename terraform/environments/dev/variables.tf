variable "aws_region" {
  description = "AWS region of the lake, EMR and the EKS cluster."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region: an AWS region name such as eu-west-1."
  }
}

variable "eks_oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (aws eks describe-cluster ... identity.oidc.issuer, then the matching provider)."
  type        = string
}

variable "eks_oidc_issuer" {
  description = "The EKS cluster's OIDC issuer without https://."
  type        = string
}

variable "dagster_postgres_host" {
  description = "Endpoint of the Dagster instance's Postgres (RDS)."
  type        = string
}

variable "spark_subnet_ids" {
  description = "Private subnets of the EMR Serverless application (empty: outside any VPC)."
  type        = list(string)
  default     = []
}

variable "spark_security_group_ids" {
  description = "Security groups of the EMR Serverless application."
  type        = list(string)
  default     = []
}

variable "snowflake_organization" {
  description = "Snowflake organization name."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_]+$", var.snowflake_organization))
    error_message = "snowflake_organization: letters, digits and underscores."
  }
}

variable "snowflake_account" {
  description = "Snowflake account name within the organization."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_]+$", var.snowflake_account))
    error_message = "snowflake_account: letters, digits and underscores."
  }
}

variable "snowflake_loader_rsa_public_key" {
  description = "RSA public key of the Snowflake loader service user (the private key is a Kubernetes secret, never in terraform)."
  type        = string
}

variable "snowflake_bi_reader_users" {
  description = "Existing Snowflake users granted the BI reader role."
  type        = set(string)
  default     = []
}
