# One fin_assets environment: the lake, Spark on EMR, the Dagster pods' IRSA role and the
# Snowflake warehouse, wired together; environments/<env> instantiate it with their sizes.

locals {
  name_prefix = "fin-assets-${var.environment}"
}

module "s3_lake" {
  source        = "../s3_lake"
  name_prefix   = local.name_prefix
  force_destroy = var.force_destroy_buckets
}

module "emr" {
  source                   = "../emr"
  name_prefix              = local.name_prefix
  lake_bucket_arn          = module.s3_lake.bucket_arn
  lake_prefix              = module.s3_lake.lake_prefix
  lake_kms_key_arn         = module.s3_lake.kms_key_arn
  serverless_max_vcpu      = var.serverless_max_vcpu
  serverless_max_memory_gb = var.serverless_max_memory_gb
  subnet_ids               = var.spark_subnet_ids
  security_group_ids       = var.spark_security_group_ids
}

module "iam_dagster_irsa" {
  source                         = "../iam_dagster_irsa"
  name_prefix                    = local.name_prefix
  oidc_provider_arn              = var.eks_oidc_provider_arn
  oidc_issuer                    = var.eks_oidc_issuer
  namespace                      = var.kubernetes_namespace
  lake_bucket_arn                = module.s3_lake.bucket_arn
  lake_prefix                    = module.s3_lake.lake_prefix
  compute_log_prefix             = module.s3_lake.compute_log_prefix
  lake_kms_key_arn               = module.s3_lake.kms_key_arn
  emr_service_role_arn           = module.emr.service_role_arn
  emr_instance_role_arn          = module.emr.instance_role_arn
  emr_serverless_application_arn = module.emr.serverless_application_arn
  emr_serverless_job_role_arn    = module.emr.serverless_job_role_arn
}

module "snowflake" {
  source = "../snowflake"
  providers = {
    snowflake.sysadmin      = snowflake.sysadmin
    snowflake.securityadmin = snowflake.securityadmin
  }
  name_prefix           = upper(replace(local.name_prefix, "-", "_"))
  warehouse_size        = var.snowflake_warehouse_size
  monthly_credit_quota  = var.snowflake_monthly_credit_quota
  loader_rsa_public_key = var.snowflake_loader_rsa_public_key
  bi_reader_users       = var.snowflake_bi_reader_users
}
