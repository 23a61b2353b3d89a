# dev: small ceilings, buckets destroyable. Account inputs: dev.account.tfvars (not committed).
environment                    = "dev"
serverless_max_vcpu            = 16
serverless_max_memory_gb       = 64
snowflake_warehouse_size       = "XSMALL"
snowflake_monthly_credit_quota = 30
force_destroy_buckets          = true
