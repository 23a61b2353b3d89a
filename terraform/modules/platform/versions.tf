terraform {
  required_version = ">= 1.6.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    snowflake = {
      source                = "snowflakedb/snowflake"
      version               = "~> 2.0"
      configuration_aliases = [snowflake.sysadmin, snowflake.securityadmin]
    }
  }
}
