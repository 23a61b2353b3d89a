terraform {
  required_version = ">= 1.6.0"
  required_providers {
    snowflake = {
      source  = "snowflakedb/snowflake"
      version = "~> 2.0"
      # Objects (database, schemas, warehouse, resource monitor) are created as SYSADMIN,
      # roles, users and grants as SECURITYADMIN.
      configuration_aliases = [snowflake.sysadmin, snowflake.securityadmin]
    }
  }
}
