# One fin_assets environment: the lake (landing, raw and curated buckets), Spark on EMR, the Dagster pods' IRSA role and the
# Snowflake warehouse, wired together. This root serves dev and prod: each has its own state
# (backend key) and its sizes in <env>.tfvars; account-specific inputs come from a local
# <env>.account.tfvars (docs/deploy.md):
#
#   terraform init -reconfigure -backend-config=<env>.backend.hcl
#   terraform plan -var-file=<env>.tfvars -var-file=<env>.account.tfvars

terraform {
  required_version = ">= 1.10.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    snowflake = {
      source  = "snowflakedb/snowflake"
      version = "~> 2.0"
    }
  }
  # bucket, region and key (fin-assets/<env>/terraform.tfstate): <env>.backend.hcl.
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = var.aws_region
  default_tags {
    tags = {
      project     = "fin_assets"
      environment = var.environment
      managed-by  = "terraform"
    }
  }
}

# Credentials from the environment: SNOWFLAKE_USER and SNOWFLAKE_PRIVATE_KEY (key-pair).
# Objects are created as SYSADMIN, roles, users and grants as SECURITYADMIN.
provider "snowflake" {
  alias             = "sysadmin"
  organization_name = var.snowflake_organization
  account_name      = var.snowflake_account
  authenticator     = "SNOWFLAKE_JWT"
  role              = "SYSADMIN"
}

provider "snowflake" {
  alias             = "securityadmin"
  organization_name = var.snowflake_organization
  account_name      = var.snowflake_account
  authenticator     = "SNOWFLAKE_JWT"
  role              = "SECURITYADMIN"
}

locals {
  name_prefix = "fin-assets-${var.environment}"
}

module "s3_lake" {
  source        = "../modules/s3_lake"
  name_prefix   = local.name_prefix
  force_destroy = var.force_destroy_buckets
}

# Spark reads and writes curated datasets only: the curated bucket and its key.
module "emr" {
  source                   = "../modules/emr"
  name_prefix              = local.name_prefix
  lake_bucket_arn          = module.s3_lake.bucket_arns["curated"]
  lake_prefix              = module.s3_lake.lake_prefix
  lake_kms_key_arn         = module.s3_lake.kms_key_arns["curated"]
  serverless_max_vcpu      = var.serverless_max_vcpu
  serverless_max_memory_gb = var.serverless_max_memory_gb
  subnet_ids               = var.spark_subnet_ids
  security_group_ids       = var.spark_security_group_ids
}

module "iam_dagster_irsa" {
  source                         = "../modules/iam_dagster_irsa"
  name_prefix                    = local.name_prefix
  oidc_provider_arn              = var.eks_oidc_provider_arn
  oidc_issuer                    = var.eks_oidc_issuer
  namespace                      = var.kubernetes_namespace
  lake_bucket_arn                = module.s3_lake.bucket_arns["curated"]
  landing_bucket_arn             = module.s3_lake.bucket_arns["landing"]
  raw_bucket_arn                 = module.s3_lake.bucket_arns["raw"]
  lake_prefix                    = module.s3_lake.lake_prefix
  compute_log_prefix             = module.s3_lake.compute_log_prefix
  kms_key_arns                   = values(module.s3_lake.kms_key_arns)
  emr_service_role_arn           = module.emr.service_role_arn
  emr_instance_role_arn          = module.emr.instance_role_arn
  emr_serverless_application_arn = module.emr.serverless_application_arn
  emr_serverless_job_role_arn    = module.emr.serverless_job_role_arn
}

# CloudWatch alarms and EventBridge rules of the AWS side (EMR, EMR Serverless, S3) to SNS.
module "monitoring" {
  source                        = "../modules/monitoring"
  name_prefix                   = local.name_prefix
  bucket_names                  = module.s3_lake.bucket_names
  emr_serverless_application_id = module.emr.serverless_application_id
}

module "snowflake" {
  source = "../modules/snowflake"
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
