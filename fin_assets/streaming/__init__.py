"""The real-time path: quotes on a Kafka topic → closed one-minute bars in the lake's landing zone.

- `messages`: the quote message schema (JSON, `schema_version` 1) and its validation.
- `kafka_config`: client configuration (local broker, TLS, Amazon MSK with SASL/IAM).
- `minute_bars`: per-partition event-time state, the watermark rule and bar aggregation.
- `landing_files`: Parquet landing files with deterministic keys.
- `landing_writer`: the long-running consumer (`fin-assets stream land`).
- `publisher`: the producers (`fin-assets stream publish`): simulator replay, source polling.
- `status`: a consumer group's lag and landed event time, read from the broker.
- `cli`: the `fin-assets stream` subcommands.

See docs/streaming.md.
"""
