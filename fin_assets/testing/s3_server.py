"""A real S3 endpoint for tests and benchmarks: moto's ThreadedMotoServer over HTTP on 127.0.0.1.

`SHARED_S3.acquire()` starts the server on a free port (or returns the running one) and points
the standard AWS environment at it (AWS_ENDPOINT_URL, dummy credentials, region, no instance
metadata lookups), so boto3 and pyarrow's S3FileSystem reach it through their ordinary
credential chain; `MotoS3.environment` is that environment, for subprocesses (a
dagster-daemon, a Spark driver). The last `release()` stops the server and restores the
variables. The pytest fixtures are in fin_assets_tests/s3_server.py.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

import boto3
from botocore.client import BaseClient
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


@dataclass
class MotoS3:
    """A running moto server and the AWS environment variables that reach it."""

    endpoint_url: str
    environment: dict[str, str] = field(default_factory=dict)

    def client(self) -> BaseClient:
        """A boto3 S3 client of the server (credentials from the environment)."""
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=REGION)

    def create_bucket(self) -> str:
        """A new empty bucket with a unique name."""
        name = f"fin-test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name


class SharedMotoS3:
    """One moto server per process, however many users acquire it.

    pytest makes a separate session fixture for each module that imports `s3_server`; they all
    share this server, started by the first and stopped (environment restored) by the last.
    """

    def __init__(self) -> None:
        self.users = 0
        self.server: ThreadedMotoServer | None = None
        self.s3: MotoS3 | None = None
        self.previous: dict[str, str | None] = {}

    def acquire(self) -> MotoS3:
        if self.s3 is None:
            self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self.server.start()
            host, port = self.server.get_host_and_port()
            endpoint = f"http://{host}:{port}"
            environment = {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "moto-test-key",
                "AWS_SECRET_ACCESS_KEY": "moto-test-secret",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
            self.previous = {name: os.environ.get(name) for name in environment}
            os.environ.update(environment)
            self.s3 = MotoS3(endpoint, environment)
        self.users += 1
        return self.s3

    def release(self) -> None:
        self.users -= 1
        if self.users or self.server is None:
            return
        for name, value in self.previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.server.stop()
        self.server, self.s3 = None, None


SHARED_S3 = SharedMotoS3()
