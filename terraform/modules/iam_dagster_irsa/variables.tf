variable "name_prefix" {
  description = "Prefix of every name, e.g. fin-assets-prod."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix: 4 to 32 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/.+$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn: an IAM OIDC provider ARN."
  }
}

variable "oidc_issuer" {
  description = "The cluster's OIDC issuer without https://, e.g. oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE."
  type        = string
  validation {
    condition     = can(regex("^oidc\\.eks\\.[a-z0-9-]+\\.amazonaws\\.com/id/[A-Z0-9]+$", var.oidc_issuer))
    error_message = "oidc_issuer: oidc.eks.<region>.amazonaws.com/id/<ID>, without https://."
  }
}

variable "namespace" {
  description = "Kubernetes namespace of the Helm release."
  type        = string
  default     = "dagster"
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.namespace))
    error_message = "namespace: a Kubernetes namespace name."
  }
}

variable "service_account" {
  description = "Service account of the code server, run and step pods (helm: global.serviceAccountName)."
  type        = string
  default     = "dagster"
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.service_account))
    error_message = "service_account: a Kubernetes service account name."
  }
}

variable "lake_bucket_arn" {
  description = "ARN of the curated bucket: the lake root, Spark staging and step logs (module s3_lake)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.lake_bucket_arn))
    error_message = "lake_bucket_arn: an S3 bucket ARN."
  }
}

variable "landing_bucket_arn" {
  description = "ARN of the landing bucket: landing/ and quarantine/ at its root (module s3_lake)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.landing_bucket_arn))
    error_message = "landing_bucket_arn: an S3 bucket ARN."
  }
}

variable "raw_bucket_arn" {
  description = "ARN of the raw bucket: raw/ at its root (module s3_lake)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.raw_bucket_arn))
    error_message = "raw_bucket_arn: an S3 bucket ARN."
  }
}

variable "lake_prefix" {
  description = "Key prefix of the lake root in the curated bucket (module s3_lake)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9_-]+$", var.lake_prefix))
    error_message = "lake_prefix: one path segment of lowercase letters, digits, _ and -."
  }
}

variable "compute_log_prefix" {
  description = "Key prefix of the Dagster step logs in the curated bucket (module s3_lake)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9_/-]+[a-z0-9_-]$", var.compute_log_prefix))
    error_message = "compute_log_prefix: a key prefix without a trailing slash."
  }
}

variable "kms_key_arns" {
  description = "ARNs of the zone buckets' KMS keys (module s3_lake): the pods read and write all three zones."
  type        = list(string)
  validation {
    condition     = length(var.kms_key_arns) > 0 && alltrue([for arn in var.kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", arn))])
    error_message = "kms_key_arns: KMS key ARNs."
  }
}

variable "emr_service_role_arn" {
  description = "EMR service role the pods pass when starting a cluster (module emr)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.emr_service_role_arn))
    error_message = "emr_service_role_arn: an IAM role ARN."
  }
}

variable "emr_instance_role_arn" {
  description = "Role of the cluster nodes the pods pass through the instance profile (module emr)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.emr_instance_role_arn))
    error_message = "emr_instance_role_arn: an IAM role ARN."
  }
}

variable "emr_serverless_application_arn" {
  description = "EMR Serverless application the pods submit job runs to (module emr)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:emr-serverless:[a-z0-9-]+:[0-9]{12}:/applications/.+$", var.emr_serverless_application_arn))
    error_message = "emr_serverless_application_arn: an EMR Serverless application ARN."
  }
}

variable "emr_serverless_job_role_arn" {
  description = "Execution role the pods pass to EMR Serverless job runs (module emr)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.emr_serverless_job_role_arn))
    error_message = "emr_serverless_job_role_arn: an IAM role ARN."
  }
}
