"""The landing zone: bar files dropped by external producers under `landing/` (docs/landing.md).

No module here uses Dagster: `contract` (key layout, errors), `limits` (size limits),
`parsing` (CSV/JSON/Parquet → bars), `validation` (the rules a file must pass) and `cursor`
(which landed objects a sensor tick has not seen yet) do not even import it; `ingest` (accept
into the raw layer or quarantine) does indirectly, through RawPayload in resources/market_data.
The sensor, the job and the raw_quotes branch live in fin_assets/defs/ingest/landing.py.
"""
