variable "name_prefix" {
  description = "Prefix of every object name, upper case, e.g. FIN_ASSETS_PROD."
  type        = string
  validation {
    condition     = can(regex("^[A-Z][A-Z0-9_]{2,40}$", var.name_prefix))
    error_message = "name_prefix: 3 to 41 upper-case letters, digits and underscores, starting with a letter."
  }
}

variable "schema" {
  description = "The schema of fin_assets (SNOWFLAKE_SCHEMA): star-schema tables, BI views, the load stage and transient load tables, all created by the loader's migrations."
  type        = string
  default     = "FIN_ASSETS"
  validation {
    condition     = can(regex("^[A-Z][A-Z0-9_]*$", var.schema))
    error_message = "schema: an upper-case identifier."
  }
}

variable "warehouse_size" {
  description = "Size of the virtual warehouse (loads and BI queries)."
  type        = string
  default     = "XSMALL"
  validation {
    condition     = contains(["XSMALL", "SMALL", "MEDIUM", "LARGE", "XLARGE"], var.warehouse_size)
    error_message = "warehouse_size: XSMALL, SMALL, MEDIUM, LARGE or XLARGE."
  }
}

variable "auto_suspend_seconds" {
  description = "Idle seconds after which the warehouse suspends (billing is per second with a 60 s minimum)."
  type        = number
  default     = 60
  validation {
    condition     = var.auto_suspend_seconds >= 60 && var.auto_suspend_seconds <= 3600
    error_message = "auto_suspend_seconds: between 60 and 3600."
  }
}

variable "monthly_credit_quota" {
  description = "Credits a month after which the resource monitor suspends the warehouse (notified at 80%)."
  type        = number
  default     = 100
  validation {
    condition     = var.monthly_credit_quota > 0
    error_message = "monthly_credit_quota: positive."
  }
}

variable "data_retention_days" {
  description = "Time Travel days of the database's tables."
  type        = number
  default     = 1
  validation {
    condition     = var.data_retention_days >= 0 && var.data_retention_days <= 90
    error_message = "data_retention_days: between 0 and 90."
  }
}

variable "loader_rsa_public_key" {
  description = "RSA public key (PEM body without header lines) of the loader service user; its private key goes to the fin-assets-snowflake Kubernetes secret."
  type        = string
  validation {
    condition     = can(regex("^MII[A-Za-z0-9+/=\\s]+$", var.loader_rsa_public_key))
    error_message = "loader_rsa_public_key: the base64 body of an RSA public key (starts with MII)."
  }
}

variable "bi_reader_users" {
  description = "Existing Snowflake users granted the BI reader role."
  type        = set(string)
  default     = []
  validation {
    condition     = alltrue([for user in var.bi_reader_users : can(regex("^[A-Za-z0-9_.@-]+$", user))])
    error_message = "bi_reader_users: Snowflake user names."
  }
}
