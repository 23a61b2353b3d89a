# prod: larger ceilings, buckets protected. Account inputs: prod.account.tfvars (not committed).
environment                    = "prod"
serverless_max_vcpu            = 64
serverless_max_memory_gb       = 256
snowflake_warehouse_size       = "SMALL"
snowflake_monthly_credit_quota = 200
force_destroy_buckets          = false
