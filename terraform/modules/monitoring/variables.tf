variable "name_prefix" {
  description = "Prefix of every name, e.g. fin-assets-prod."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix: 4 to 32 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "bucket_names" {
  description = "The lake's zone buckets by zone (module s3_lake): each gets request metrics and a 5xx alarm."
  type        = map(string)
  validation {
    condition     = length(var.bucket_names) > 0 && alltrue([for name in values(var.bucket_names) : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", name))])
    error_message = "bucket_names: at least one S3 bucket name."
  }
}

variable "emr_serverless_application_id" {
  description = "ID of the EMR Serverless application (module emr) whose failed job runs are alarmed."
  type        = string
  validation {
    condition     = can(regex("^[0-9a-z]{16,64}$", var.emr_serverless_application_id))
    error_message = "emr_serverless_application_id: an EMR Serverless application ID."
  }
}

variable "s3_5xx_threshold" {
  description = "5xx answers of one bucket in 5 minutes above which its alarm fires (S3 asks clients to retry some)."
  type        = number
  default     = 5
  validation {
    condition     = var.s3_5xx_threshold >= 0
    error_message = "s3_5xx_threshold: zero or more."
  }
}
