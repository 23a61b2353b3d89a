"""Fixtures of a real S3 endpoint (fin_assets.testing.s3_server: moto's server over HTTP).

Import them into a test module (pytest finds fixtures by name in the module):

    from fin_assets_tests.s3_server import s3_bucket, s3_lake_url, s3_server  # noqa: F401

- `s3_server` (session): starts the server on a free port and points the standard AWS
  environment at it for the whole session (AWS_ENDPOINT_URL, dummy credentials, region,
  no instance metadata lookups), so boto3 and pyarrow's S3FileSystem reach it through their
  ordinary credential chain. `s3_server.environment` is that environment, for subprocesses
  (a dagster-daemon, a Spark driver). The variables are restored when the session ends. One
  server serves the whole test process, however many modules import the fixture.
- `s3_bucket`: a fresh, empty bucket per test.
- `s3_lake_url`: `s3://{s3_bucket}/lake`, a FIN_LAKE_URL for ParquetLake / LakeResource.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fin_assets.testing.s3_server import SHARED_S3, MotoS3


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoS3]:
    s3 = SHARED_S3.acquire()
    try:
        yield s3
    finally:
        SHARED_S3.release()


@pytest.fixture
def s3_bucket(s3_server: MotoS3) -> str:
    return s3_server.create_bucket()


@pytest.fixture
def s3_lake_url(s3_bucket: str) -> str:
    return f"s3://{s3_bucket}/lake"
