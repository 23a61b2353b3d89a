variable "name_prefix" {
  description = "Prefix of every name, e.g. fin-assets-prod; bucket names append the account id."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix: 4 to 32 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "lake_prefix" {
  description = "Key prefix of the lake root inside the curated bucket: FIN_LAKE_URL is s3://<curated bucket>/<lake_prefix>."
  type        = string
  default     = "lake"
  validation {
    condition     = can(regex("^[a-z0-9_-]+$", var.lake_prefix))
    error_message = "lake_prefix: one path segment of lowercase letters, digits, _ and -."
  }
}

variable "raw_infrequent_access_days" {
  description = "Days after which raw vendor payloads (raw bucket) move to S3 Standard-IA."
  type        = number
  default     = 30
  validation {
    condition     = var.raw_infrequent_access_days >= 30
    error_message = "raw_infrequent_access_days: S3 allows Standard-IA transitions from 30 days."
  }
}

variable "raw_glacier_days" {
  description = "Days after which raw vendor payloads move to Glacier Instant Retrieval (still readable in milliseconds, so old partitions can be rebuilt)."
  type        = number
  default     = 90
  validation {
    condition     = var.raw_glacier_days >= 90
    error_message = "raw_glacier_days: at least 90 (30 days in Standard-IA before Glacier)."
  }
}

variable "landing_retention_days" {
  description = "Days a file stays under landing/ of the landing bucket (accepted files are in the raw bucket by then; rejected ones were moved to quarantine/)."
  type        = number
  default     = 30
  validation {
    condition     = var.landing_retention_days >= 7
    error_message = "landing_retention_days: at least 7 (a file waits for its trade date to become a partition)."
  }
}

variable "quarantine_retention_days" {
  description = "Days a rejected file and its error report stay under quarantine/ of the landing bucket."
  type        = number
  default     = 90
  validation {
    condition     = var.quarantine_retention_days >= 30
    error_message = "quarantine_retention_days: at least 30 (time for the producer to look)."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted object version is kept before it expires."
  type        = number
  default     = 30
  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days: at least 1."
  }
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which incomplete multipart uploads are aborted (their parts are billed until then)."
  type        = number
  default     = 7
  validation {
    condition     = var.abort_incomplete_multipart_days >= 1
    error_message = "abort_incomplete_multipart_days: at least 1."
  }
}

variable "compute_log_retention_days" {
  description = "Days Dagster step logs (dagster/compute-logs/) and Spark runs' staged files and logs (spark/staging/) are kept in the curated bucket."
  type        = number
  default     = 30
  validation {
    condition     = var.compute_log_retention_days >= 1
    error_message = "compute_log_retention_days: at least 1."
  }
}

variable "access_log_retention_days" {
  description = "Days S3 server access logs are kept in the access-log bucket."
  type        = number
  default     = 365
  validation {
    condition     = var.access_log_retention_days >= 90
    error_message = "access_log_retention_days: at least 90 (audit trail)."
  }
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete non-empty buckets (dev only)."
  type        = bool
  default     = false
}
