variable "environment" {
  description = "Environment name: dev or prod."
  type        = string
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment: dev or prod."
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
  description = "Endpoint of the existing Postgres (RDS) instance of the Dagster instance; written into the Helm values."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9.-]+$", var.dagster_postgres_host))
    error_message = "dagster_postgres_host: a host name."
  }
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

variable "serverless_max_vcpu" {
  description = "vCPU ceiling of the EMR Serverless application."
  type        = number
}

variable "serverless_max_memory_gb" {
  description = "Memory ceiling (GB) of the EMR Serverless application."
  type        = number
}

variable "snowflake_warehouse_size" {
  description = "Size of the Snowflake warehouse."
  type        = string
}

variable "snowflake_monthly_credit_quota" {
  description = "Monthly credit quota of the Snowflake warehouse."
  type        = number
}

variable "snowflake_account_identifier" {
  description = "Snowflake account identifier <organization>-<account> (SNOWFLAKE_ACCOUNT of the pods)."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_]+-[A-Za-z0-9_]+$", var.snowflake_account_identifier))
    error_message = "snowflake_account_identifier: <organization>-<account>."
  }
}

variable "snowflake_loader_rsa_public_key" {
  description = "RSA public key of the Snowflake loader service user."
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
