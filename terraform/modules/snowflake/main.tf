# The Snowflake side of the warehouse: one database and the schema fin_assets loads into (its
# migrations create the tables, views and load stage there), one auto-suspending warehouse under
# a monthly credit quota, a loader role (fin_assets' key-pair service user) and a BI reader role
# (reads every table and view of the schema through the warehouse). Both roles roll up to
# SYSADMIN; the schema has managed access, so only its owner and SECURITYADMIN grant on it.

locals {
  database  = "${var.name_prefix}_DB"
  schema_fq = "\"${local.database}\".\"${var.schema}\""
  roles = {
    loader    = snowflake_account_role.loader.name
    bi_reader = snowflake_account_role.bi_reader.name
  }
}

resource "snowflake_database" "this" {
  provider                    = snowflake.sysadmin
  name                        = local.database
  comment                     = "fin_assets warehouse (managed by terraform)"
  data_retention_time_in_days = var.data_retention_days
}

resource "snowflake_schema" "this" {
  provider            = snowflake.sysadmin
  database            = snowflake_database.this.name
  name                = var.schema
  comment             = "fin_assets: star schema, BI views, load stage"
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
  comment  = "fin_assets: migrations and loads of its schema"
}

resource "snowflake_account_role" "bi_reader" {
  provider = snowflake.securityadmin
  name     = "${var.name_prefix}_BI_READER"
  comment  = "BI: reads the tables and views of fin_assets"
}

resource "snowflake_grant_account_role" "roles_to_sysadmin" {
  provider         = snowflake.securityadmin
  for_each         = local.roles
  role_name        = each.value
  parent_role_name = "SYSADMIN"
}

resource "snowflake_grant_privileges_to_account_role" "warehouse_usage" {
  provider          = snowflake.securityadmin
  for_each          = local.roles
  account_role_name = each.value
  privileges        = ["USAGE"]
  on_account_object {
    object_type = "WAREHOUSE"
    object_name = snowflake_warehouse.this.name
  }
}

resource "snowflake_grant_privileges_to_account_role" "database_usage" {
  provider          = snowflake.securityadmin
  for_each          = local.roles
  account_role_name = each.value
  privileges        = ["USAGE"]
  on_account_object {
    object_type = "DATABASE"
    object_name = snowflake_database.this.name
  }
}

resource "snowflake_grant_privileges_to_account_role" "schema_usage" {
  provider          = snowflake.securityadmin
  for_each          = local.roles
  account_role_name = each.value
  privileges        = ["USAGE"]
  on_schema {
    schema_name = local.schema_fq
  }
  depends_on = [snowflake_schema.this]
}

# The loader creates what the migrations and loads need; it owns what it creates.
resource "snowflake_grant_privileges_to_account_role" "loader_create" {
  provider          = snowflake.securityadmin
  account_role_name = snowflake_account_role.loader.name
  privileges        = ["CREATE TABLE", "CREATE VIEW", "CREATE MATERIALIZED VIEW", "CREATE STAGE"]
  on_schema {
    schema_name = local.schema_fq
  }
  depends_on = [snowflake_schema.this]
}

# BI readers read every table and view, those there now and those the loader creates later.
resource "snowflake_grant_privileges_to_account_role" "bi_read_existing" {
  provider          = snowflake.securityadmin
  for_each          = toset(["TABLES", "VIEWS", "MATERIALIZED VIEWS"])
  account_role_name = snowflake_account_role.bi_reader.name
  privileges        = ["SELECT"]
  on_schema_object {
    all {
      object_type_plural = each.value
      in_schema          = local.schema_fq
    }
  }
  depends_on = [snowflake_schema.this]
}

resource "snowflake_grant_privileges_to_account_role" "bi_read_future" {
  provider          = snowflake.securityadmin
  for_each          = toset(["TABLES", "VIEWS", "MATERIALIZED VIEWS"])
  account_role_name = snowflake_account_role.bi_reader.name
  privileges        = ["SELECT"]
  on_schema_object {
    future {
      object_type_plural = each.value
      in_schema          = local.schema_fq
    }
  }
  depends_on = [snowflake_schema.this]
}

resource "snowflake_service_user" "loader" {
  provider          = snowflake.securityadmin
  name              = "${var.name_prefix}_LOADER_USER"
  comment           = "fin_assets (Dagster pods): key-pair authentication only"
  default_role      = snowflake_account_role.loader.name
  default_warehouse = snowflake_warehouse.this.name
  default_namespace = local.schema_fq
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
