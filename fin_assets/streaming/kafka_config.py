"""Kafka client configuration: one place for the broker address and its security settings.

Environment variables (the `fin-assets stream` options override the first two):
- FIN_KAFKA_BOOTSTRAP: `host:port[,host:port...]` (required).
- FIN_KAFKA_TOPIC: the quote topic (default `quotes`); dead letters go to `{topic}.dlq`.
- FIN_KAFKA_SECURITY: `plaintext` (default), `tls` (TLS, optional FIN_KAFKA_CA_FILE), or
  `msk-iam` (Amazon MSK with IAM access control: SASL_SSL + OAUTHBEARER, the token signed with
  the standard AWS credential chain for AWS_REGION by aws-msk-iam-sasl-signer-python; use the
  cluster's "bootstrap brokers for IAM", port 9098).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

SECURITY_MODES = ("plaintext", "tls", "msk-iam")
DEFAULT_TOPIC = "quotes"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


def _msk_iam_token(region: str) -> Callable[[Any], tuple[str, float]]:
    """librdkafka's oauth_cb: (token, expiry in epoch seconds) for the MSK cluster's region.

    The signer (and boto3 under it) is imported only for an MSK IAM cluster: every run process
    and code server imports this module through the streaming status asset.
    """
    from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

    def token(_config: Any) -> tuple[str, float]:
        value, expiry_ms = MSKAuthTokenProvider.generate_auth_token(region)
        return value, expiry_ms / 1000

    return token


@dataclass(frozen=True)
class KafkaSettings:
    """Where the broker is and how to authenticate."""

    bootstrap: str
    topic: str = DEFAULT_TOPIC
    security: str = "plaintext"
    ca_file: str | None = None
    region: str | None = None

    def __post_init__(self) -> None:
        if not self.bootstrap:
            raise ValueError("no Kafka bootstrap servers: set FIN_KAFKA_BOOTSTRAP or --bootstrap")
        if self.security not in SECURITY_MODES:
            raise ValueError(
                f"FIN_KAFKA_SECURITY={self.security!r}: expected one of {', '.join(SECURITY_MODES)}"
            )
        if self.security == "msk-iam" and not self.region:
            raise ValueError("FIN_KAFKA_SECURITY=msk-iam needs AWS_REGION")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], bootstrap: str | None = None, topic: str | None = None
    ) -> KafkaSettings:
        """Settings from the variables of `environ` (module docstring); arguments override them."""
        return cls(
            bootstrap=bootstrap or environ.get("FIN_KAFKA_BOOTSTRAP", ""),
            topic=topic or environ.get("FIN_KAFKA_TOPIC", DEFAULT_TOPIC),
            security=environ.get("FIN_KAFKA_SECURITY", "plaintext"),
            ca_file=environ.get("FIN_KAFKA_CA_FILE"),
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
        )

    @property
    def dead_letter_topic(self) -> str:
        return dead_letter_topic(self.topic)

    def client_config(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """confluent-kafka configuration: bootstrap + security, then `overrides`."""
        config: dict[str, Any] = {"bootstrap.servers": self.bootstrap}
        if self.security == "tls":
            config["security.protocol"] = "SSL"
            if self.ca_file:
                config["ssl.ca.location"] = self.ca_file
        elif self.security == "msk-iam":
            assert self.region is not None
            config |= {
                "security.protocol": "SASL_SSL",
                "sasl.mechanism": "OAUTHBEARER",
                "oauth_cb": _msk_iam_token(self.region),
            }
        return config | dict(overrides or {})
