"""The environment the deployment gives the fin_assets pods, assembled from the repository.

The user deployment's `env` (helm/values.yaml), the ConfigMap fin-assets-infra (the terraform
output fin_assets_env, as applied in an example account) and the keys of the secrets docs/deploy.md
creates (placeholder values: loading the definitions reads them, calls no service).
"""

from __future__ import annotations

import yaml

from fin_assets_tests.deploy.dockerfile import REPOSITORY
from fin_assets_tests.deploy.terraform import applied_output

SECRET_KEYS = {
    "SNOWFLAKE_PRIVATE_KEY": "placeholder-private-key",
    "ALPHAVANTAGE_API_KEY": "placeholder-api-key",
    "COINGECKO_API_KEY": "placeholder-api-key",
}


def pod_environment() -> dict[str, str]:
    values = yaml.safe_load((REPOSITORY / "helm" / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    helm_env = {item["name"]: item["value"] for item in deployment["env"]}
    return {**applied_output("fin_assets_env"), **helm_env, **SECRET_KEYS}
