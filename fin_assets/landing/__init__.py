"""The landing zone: bar files dropped by external producers under `landing/` (docs/landing.md).

Dagster-free: `contract` (key layout, errors), `parsing` (CSV/JSON/Parquet → bars),
`validation` (the rules a file must pass), `ingest` (accept into the raw layer or quarantine)
and `cursor` (which landed objects a sensor tick has not seen yet). The sensor, job and the
raw_quotes branch live in fin_assets/defs/landing.py.
"""
