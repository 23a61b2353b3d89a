"""Client configuration: plaintext, TLS and Amazon MSK IAM (a real SigV4-signed token)."""

import base64
import time
from urllib.parse import parse_qs, urlparse

import pytest

from fin_assets.streaming.kafka_config import KafkaSettings


def test_plaintext_and_tls_configs() -> None:
    assert KafkaSettings("b:9092").client_config({"group.id": "g"}) == {
        "bootstrap.servers": "b:9092",
        "group.id": "g",
    }
    assert KafkaSettings("b:9094", security="tls", ca_file="/ca.pem").client_config() == {
        "bootstrap.servers": "b:9094",
        "security.protocol": "SSL",
        "ssl.ca.location": "/ca.pem",
    }


def test_msk_iam_signs_a_connect_token_with_the_aws_credential_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    config = KafkaSettings("b-1.msk:9098", security="msk-iam", region="eu-west-1").client_config()
    assert (config["security.protocol"], config["sasl.mechanism"]) == ("SASL_SSL", "OAUTHBEARER")

    token, expiry = config["oauth_cb"](None)

    url = urlparse(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    query = parse_qs(url.query)
    assert url.netloc == "kafka.eu-west-1.amazonaws.com"
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")
    assert query["X-Amz-Credential"][0].endswith("/eu-west-1/kafka-cluster/aws4_request")
    assert time.time() < expiry <= time.time() + 3_600  # epoch seconds, as librdkafka wants


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"bootstrap": ""}, "no Kafka bootstrap servers"),
        ({"bootstrap": "b:1", "security": "sasl"}, "FIN_KAFKA_SECURITY='sasl'"),
        ({"bootstrap": "b:1", "security": "msk-iam"}, "msk-iam needs AWS_REGION"),
    ],
)
def test_bad_settings_are_refused(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KafkaSettings(**settings)
