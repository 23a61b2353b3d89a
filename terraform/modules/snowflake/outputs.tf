output "database" {
  description = "Warehouse database."
  value       = snowflake_database.this.name
}

output "schema" {
  description = "Schema of fin_assets (SNOWFLAKE_SCHEMA)."
  value       = snowflake_schema.this.name
}

output "warehouse" {
  description = "Virtual warehouse of loads and BI queries."
  value       = snowflake_warehouse.this.name
}

output "loader_role" {
  description = "Role of fin_assets' loader."
  value       = snowflake_account_role.loader.name
}

output "loader_user" {
  description = "Service user of fin_assets (key-pair authentication)."
  value       = snowflake_service_user.loader.name
}

output "bi_reader_role" {
  description = "Role of BI readers."
  value       = snowflake_account_role.bi_reader.name
}
