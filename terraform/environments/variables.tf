# Sizes: <env>.tfvars (committed). Account: <env>.account.tfvars (local, not committed).

variable "environment" {
  description = "Environment name: dev or prod (names, tags, state key)."
  type        = string
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment: dev or prod."
  }
}

variable "aws_region" {
  description = "AWS region of the lake, EMR and the EKS cluster."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region: an AWS region name such as eu-west-1."
  }
}

variable "eks_oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (IRSA)."
  type        = string
}

variable "eks_oidc_issuer" {
  description = "The EKS cluster's OIDC issuer without https://."
  type        = string
}

variable "kubernetes_namespace" {
  description = "Namespace of the Dagster Helm release."
  type        = string
  default     = "dagster"
}

variable "dagster_postgres_host" {
  description = "Endpoint of the existing Postgres (RDS) of the Dagster instance; written into the Helm values."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9.-]+$", var.dagster_postgres_host))
    error_message = "dagster_postgres_host: a host name."
  }
}

variable "spark_subnet_ids" {
  description = "Private subnets of the EMR clusters (FIN_EMR_SUBNET_IDS) and the EMR Serverless application (empty: the account's default VPC for clusters, no VPC for Serverless)."
  type        = list(string)
  default     = []
}

variable "spark_security_group_ids" {
  description = "Security groups of the EMR Serverless application."
  type        = list(string)
  default     = []
}

variable "serverless_max_vcpu" {
  description = "vCPU ceiling of the EMR Serverless application."
  type        = number
}

variable "serverless_max_memory_gb" {
  description = "Memory ceiling (GB) of the EMR Serverless application."
  type        = number
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

variable "snowflake_warehouse_size" {
  description = "Size of the Snowflake warehouse."
  type        = string
}

variable "snowflake_monthly_credit_quota" {
  description = "Monthly credit quota of the Snowflake warehouse."
  type        = number
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

variable "force_destroy_buckets" {
  description = "Allow destroying non-empty buckets (dev only)."
  type        = bool
  default     = false
}
