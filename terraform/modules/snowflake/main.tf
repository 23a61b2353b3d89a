# The Snowflake side of the warehouse: one database with a staging and a marts schema, one
# auto-suspending warehouse under a monthly credit quota, a loader role (fin_assets' service
# user: creates and fills tables) and a BI reader role (reads the marts through the warehouse).
# Both roles roll up to SYSADMIN so administrators keep ownership visibility.

locals {
  database   = "${var.name_prefix}_DB"
  staging_fq = "\"${local.database}\".\"${var.schemas.staging}\""
  marts_fq   = "\"${local.database}\".\"${var.schemas.marts}\""
}

resource "snowflake_database" "this" {
  provider                    = snowflake.sysadmin
  name                        = local.database
  comment                     = "fin_assets warehouse (managed by terraform)"
  data_retention_time_in_days = var.data_retention_days
}

resource "snowflake_schema" "staging" {
  provider = snowflake.sysadmin
  database = snowflake_database.this.name
  name     = var.schemas.staging
  comment  = "Transient load tables of fin_assets' loader"
  # Load tables are rebuilt each load: no Time Travel or Fail-safe storage to pay for.
  is_transient        = "true"
  with_managed_access = "true"
}

resource "snowflake_schema" "marts" {
  provider            = snowflake.sysadmin
  database            = snowflake_database.this.name
  name                = var.schemas.marts
  comment             = "Star schema of fin_assets: dimensions and facts"
  with_managed_access = "true"
}

resource "snowflake_resource_monitor" "this" {
  provider                  = snowflake.sysadmin
  name                      = "${var.name_prefix}_MONITOR"
  credit_quota              = var.monthly_credit_quota
  frequency                 = "MONTHLY"
  start_timestamp           = "IMMEDIATELY"
  notify_triggers           = [80]
  suspend_trigger           = 100
  suspend_immediate_trigger = 110
}

resource "snowflake_warehouse" "this" {
  provider                     = snowflake.sysadmin
  name                         = "${var.name_prefix}_WH"
  comment                      = "fin_assets loads and BI queries"
  warehouse_size               = var.warehouse_size
  auto_suspend                 = var.auto_suspend_seconds
  auto_resume                  = "true"
  initially_suspended          = true
  max_cluster_count            = 1
  min_cluster_count            = 1
  statement_timeout_in_seconds = 3600
  resource_monitor             = snowflake_resource_monitor.this.fully_qualified_name
}

resource "snowflake_account_role" "loader" {
  provider = snowflake.securityadmin
  name     = "${var.name_prefix}_LOADER"
  comment  = "fin_assets loads: creates and replaces tables in STAGING and MARTS"
}

resource "snowflake_account_role" "bi_reader" {
  provider = snowflake.securityadmin
  name     = "${var.name_prefix}_BI_READER"
  comment  = "Reads the marts"
}

resource "snowflake_grant_account_role" "roles_to_sysadmin" {
  provider         = snowflake.securityadmin
  for_each         = { loader = snowflake_account_role.loader.name, bi_reader = snowflake_account_role.bi_reader.name }
  role_name        = each.value
  parent_role_name = "SYSADMIN"
}

resource "snowflake_grant_privileges_to_account_role" "warehouse_usage" {
  provider          = snowflake.securityadmin
  for_each          = { loader = snowflake_account_role.loader.name, bi_reader = snowflake_account_role.bi_reader.name }
  account_role_name = each.value
  privileges        = ["USAGE"]
  on_account_object {
    object_type = "WAREHOUSE"
    object_name = snowflake_warehouse.this.name
  }
}

resource "snowflake_grant_privileges_to_account_role" "database_usage" {
  provider          = snowflake.securityadmin
  for_each          = { loader = snowflake_account_role.loader.name, bi_reader = snowflake_account_role.bi_reader.name }
  account_role_name = each.value
  privileges        = ["USAGE"]
  on_account_object {
    object_type = "DATABASE"
    object_name = snowflake_database.this.name
  }
}

resource "snowflake_grant_privileges_to_account_role" "loader_schemas" {
  provider          = snowflake.securityadmin
  for_each          = { staging = local.staging_fq, marts = local.marts_fq }
  account_role_name = snowflake_account_role.loader.name
  privileges        = ["USAGE", "CREATE TABLE", "CREATE VIEW"]
  on_schema {
    schema_name = each.value
  }
  depends_on = [snowflake_schema.staging, snowflake_schema.marts]
}

resource "snowflake_grant_privileges_to_account_role" "loader_future_tables" {
  provider          = snowflake.securityadmin
  for_each          = { staging = local.staging_fq, marts = local.marts_fq }
  account_role_name = snowflake_account_role.loader.name
  privileges        = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"]
  on_schema_object {
    future {
      object_type_plural = "TABLES"
      in_schema          = each.value
    }
  }
  depends_on = [snowflake_schema.staging, snowflake_schema.marts]
}

resource "snowflake_grant_privileges_to_account_role" "bi_marts_usage" {
  provider          = snowflake.securityadmin
  account_role_name = snowflake_account_role.bi_reader.name
  privileges        = ["USAGE"]
  on_schema {
    schema_name = local.marts_fq
  }
  depends_on = [snowflake_schema.marts]
}

resource "snowflake_grant_privileges_to_account_role" "bi_marts_select" {
  provider          = snowflake.securityadmin
  for_each          = toset(["TABLES", "VIEWS"])
  account_role_name = snowflake_account_role.bi_reader.name
  privileges        = ["SELECT"]
  on_schema_object {
    future {
      object_type_plural = each.value
      in_schema          = local.marts_fq
    }
  }
  depends_on = [snowflake_schema.marts]
}

resource "snowflake_service_user" "loader" {
  provider          = snowflake.securityadmin
  name              = "${var.name_prefix}_LOADER_USER"
  comment           = "fin_assets (Dagster pods): key-pair authentication only"
  default_role      = snowflake_account_role.loader.name
  default_warehouse = snowflake_warehouse.this.name
  default_namespace = local.marts_fq
  rsa_public_key    = var.loader_rsa_public_key
}

resource "snowflake_grant_account_role" "loader_user" {
  provider  = snowflake.securityadmin
  role_name = snowflake_account_role.loader.name
  user_name = snowflake_service_user.loader.name
}

resource "snowflake_grant_account_role" "bi_reader_users" {
  provider  = snowflake.securityadmin
  for_each  = var.bi_reader_users
  role_name = snowflake_account_role.bi_reader.name
  user_name = each.value
}
