# The dev environment: state in S3 (bucket created once, outside this root: docs/deploy.md;
# S3-native locking), providers, and the platform at dev sizes.

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
  # bucket and region: terraform init -backend-config=backend.hcl (docs/deploy.md)
  backend "s3" {
    key          = "fin-assets/dev/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = var.aws_region
  default_tags {
    tags = {
      project     = "fin_assets"
      environment = "dev"
      managed-by  = "terraform"
    }
  }
}

# Credentials from the environment: SNOWFLAKE_USER and SNOWFLAKE_PRIVATE_KEY (key-pair).
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

module "platform" {
  source = "../../modules/platform"
  providers = {
    snowflake.sysadmin      = snowflake.sysadmin
    snowflake.securityadmin = snowflake.securityadmin
  }
  environment                     = "dev"
  eks_oidc_provider_arn           = var.eks_oidc_provider_arn
  eks_oidc_issuer                 = var.eks_oidc_issuer
  dagster_postgres_host           = var.dagster_postgres_host
  spark_subnet_ids                = var.spark_subnet_ids
  spark_security_group_ids        = var.spark_security_group_ids
  serverless_max_vcpu             = 16
  serverless_max_memory_gb        = 64
  snowflake_warehouse_size        = "XSMALL"
  snowflake_monthly_credit_quota  = 30
  snowflake_account_identifier    = "${var.snowflake_organization}-${var.snowflake_account}"
  snowflake_loader_rsa_public_key = var.snowflake_loader_rsa_public_key
  snowflake_bi_reader_users       = var.snowflake_bi_reader_users
  force_destroy_buckets           = true
}
