# What the Kubernetes side consumes (docs/deploy.md):
# - helm_values: a values file for the dagster/dagster chart, after helm/values.yaml and
#   helm/values-<env>.yaml (maps only: Helm merges them key by key);
# - fin_assets_env: the ConfigMap fin-assets-infra, read by the code server, run and step pods
#   (names and ids only: the Snowflake private key and vendor API keys are Secrets).

output "helm_values" {
  description = "Helm values naming this environment's resources: terraform output -json helm_values > helm/values-<env>-infra.json."
  value = {
    serviceAccount = {
      annotations = {
        "eks.amazonaws.com/role-arn" = module.iam_dagster_irsa.role_arn
      }
    }
    postgresql = {
      postgresqlHost = var.dagster_postgres_host
    }
    computeLogManager = {
      config = {
        s3ComputeLogManager = {
          bucket = module.s3_lake.compute_log_bucket_name
          prefix = module.s3_lake.compute_log_prefix
        }
      }
    }
  }
}

output "fin_assets_env" {
  description = "Environment of the fin_assets pods (ConfigMap fin-assets-infra)."
  value = {
    AWS_REGION                        = module.s3_lake.region
    FIN_LAKE_URL                      = module.s3_lake.lake_url
    FIN_LANDING_URL                   = module.s3_lake.landing_url
    FIN_RAW_URL                       = module.s3_lake.raw_url
    FIN_SPARK_STAGING_URI             = module.s3_lake.spark_staging_url
    FIN_EMR_SERVICE_ROLE              = module.emr.service_role_name
    FIN_EMR_INSTANCE_PROFILE          = module.emr.instance_profile_name
    FIN_EMR_SECURITY_CONFIGURATION    = module.emr.security_configuration_name
    FIN_EMR_SUBNET_IDS                = join(",", var.spark_subnet_ids)
    FIN_EMR_SERVERLESS_APPLICATION_ID = module.emr.serverless_application_id
    FIN_EMR_SERVERLESS_ROLE_ARN       = module.emr.serverless_job_role_arn
    FIN_EMR_SERVERLESS_PYTHON_ARCHIVE = module.s3_lake.spark_archive_url
    SNOWFLAKE_ACCOUNT                 = "${var.snowflake_organization}-${var.snowflake_account}"
    SNOWFLAKE_USER                    = module.snowflake.loader_user
    SNOWFLAKE_ROLE                    = module.snowflake.loader_role
    SNOWFLAKE_WAREHOUSE               = module.snowflake.warehouse
    SNOWFLAKE_DATABASE                = module.snowflake.database
    SNOWFLAKE_SCHEMA                  = module.snowflake.schema
  }
}

output "emr_cluster_settings" {
  description = "Names for the EMR clusters the EMR runner starts: ServiceRole, JobFlowRole, SecurityConfiguration."
  value = {
    service_role           = module.emr.service_role_name
    instance_profile       = module.emr.instance_profile_name
    security_configuration = module.emr.security_configuration_name
  }
}

output "lake_buckets" {
  description = "The lake's buckets by zone (landing, raw, curated): producers put files under landing/ of the landing bucket."
  value       = module.s3_lake.bucket_names
}

output "alerts_topic_arn" {
  description = "SNS topic of the AWS-side alarms (EMR and EMR Serverless failures, S3 5xx): subscribe the on-call relay to it."
  value       = module.monitoring.alerts_topic_arn
}
