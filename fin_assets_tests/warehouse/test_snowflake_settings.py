"""FIN_WAREHOUSE=snowflake is configured from environment variables, secrets as EnvVars."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dagster import EnvVar

from fin_assets.resources.warehouse_snowflake import snowflake_warehouse_from_env

BASE = {
    "SNOWFLAKE_ACCOUNT": "acme-xy12345",
    "SNOWFLAKE_USER": "FIN_LOADER",
    "SNOWFLAKE_DATABASE": "FIN",
    "SNOWFLAKE_SCHEMA": "MARTS",
}


def test_password_auth_and_defaults() -> None:
    resource = snowflake_warehouse_from_env(BASE | {"SNOWFLAKE_PASSWORD": "secret"})

    snowflake = resource.snowflake
    assert snowflake.password == EnvVar("SNOWFLAKE_PASSWORD")
    assert snowflake.account == EnvVar("SNOWFLAKE_ACCOUNT")
    assert snowflake.schema_ == EnvVar("SNOWFLAKE_SCHEMA")
    assert snowflake.database == EnvVar("SNOWFLAKE_DATABASE")
    assert snowflake.private_key is None
    assert snowflake.paramstyle == "qmark"
    assert snowflake.additional_snowflake_connection_args is None
    assert resource.materialized_views is False


def test_key_pair_auth_endpoint_and_materialized_views(monkeypatch: pytest.MonkeyPatch) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    environ = BASE | {
        "SNOWFLAKE_PRIVATE_KEY": pem,
        "SNOWFLAKE_PASSWORD": "ignored when a key is set",
        "SNOWFLAKE_ROLE": "LOADER",
        "SNOWFLAKE_HOST": "acme.privatelink.snowflakecomputing.com",
        "SNOWFLAKE_PORT": "443",
        "FIN_SNOWFLAKE_MATERIALIZED_VIEWS": "true",
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)

    resource = snowflake_warehouse_from_env(environ)

    snowflake = resource.snowflake
    assert snowflake.private_key == EnvVar("SNOWFLAKE_PRIVATE_KEY")
    assert snowflake.password is None
    assert snowflake.role == EnvVar("SNOWFLAKE_ROLE")
    assert snowflake.additional_snowflake_connection_args == {
        "host": "acme.privatelink.snowflakecomputing.com",
        "port": 443,
    }
    assert resource.materialized_views is True
    # The connector receives the key decoded to DER bytes, as Snowflake key-pair auth needs.
    resolved = snowflake.process_config_and_initialize()
    assert resolved._connection_args["private_key"] == key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_missing_settings_are_named() -> None:
    with pytest.raises(ValueError, match="needs SNOWFLAKE_SCHEMA, SNOWFLAKE_PRIVATE_KEY or"):
        snowflake_warehouse_from_env({k: v for k, v in BASE.items() if k != "SNOWFLAKE_SCHEMA"})
    with pytest.raises(ValueError, match="FIN_SNOWFLAKE_MATERIALIZED_VIEWS='yes'"):
        snowflake_warehouse_from_env(
            BASE | {"SNOWFLAKE_PASSWORD": "x", "FIN_SNOWFLAKE_MATERIALIZED_VIEWS": "yes"}
        )
