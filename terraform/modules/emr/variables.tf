variable "name_prefix" {
  description = "Prefix of every name, e.g. fin-assets-prod."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix: 4 to 32 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "lake_bucket_arn" {
  description = "ARN of the curated bucket, holding the lake root and Spark's staging prefix (module s3_lake)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.lake_bucket_arn))
    error_message = "lake_bucket_arn: an S3 bucket ARN."
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

variable "lake_kms_key_arn" {
  description = "ARN of the curated bucket's KMS key (module s3_lake): Spark reads and writes SSE-KMS objects, and EMR encrypts local disks with it."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.lake_kms_key_arn))
    error_message = "lake_kms_key_arn: a KMS key ARN."
  }
}

variable "release_label" {
  description = "EMR release of the Serverless application (and of the clusters the EMR runner starts)."
  type        = string
  default     = "emr-7.5.0"
  validation {
    condition     = can(regex("^emr-[0-9]+\\.[0-9]+\\.[0-9]+$", var.release_label))
    error_message = "release_label: emr-X.Y.Z."
  }
}

variable "serverless_max_vcpu" {
  description = "Upper bound of the EMR Serverless application's vCPUs across all its jobs (cost ceiling)."
  type        = number
  default     = 32
  validation {
    condition     = var.serverless_max_vcpu >= 4 && var.serverless_max_vcpu <= 400
    error_message = "serverless_max_vcpu: between 4 and 400."
  }
}

variable "serverless_max_memory_gb" {
  description = "Upper bound of the EMR Serverless application's memory in GB across all its jobs."
  type        = number
  default     = 128
  validation {
    condition     = var.serverless_max_memory_gb >= 16 && var.serverless_max_memory_gb <= 3000
    error_message = "serverless_max_memory_gb: between 16 and 3000."
  }
}

variable "serverless_idle_timeout_minutes" {
  description = "Minutes without jobs after which the Serverless application stops (and stops billing)."
  type        = number
  default     = 15
  validation {
    condition     = var.serverless_idle_timeout_minutes >= 1 && var.serverless_idle_timeout_minutes <= 1440
    error_message = "serverless_idle_timeout_minutes: between 1 and 1440."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the Serverless application (needed for vendor APIs or a VPC endpoint to S3); empty keeps it outside any VPC."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "subnet_ids: subnet-... ids."
  }
}

variable "security_group_ids" {
  description = "Security groups of the Serverless application when subnet_ids is set."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "security_group_ids: sg-... ids."
  }
}
