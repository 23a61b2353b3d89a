"""The landing zone: bar files dropped by external producers under `landing/` (docs/landing.md).

No module here uses Dagster: `contract` (key layout, errors), `limits` (size limits),
`parsing` (CSV/JSON/Parquet → bars), `validation` (the rules a file must pass) and `cursor`
(which landed objects a sensor tick has not seen yet), `raw_store` (the raw layer's layout),
`lake_plausibility` (bars against the lake's history), `batches` (landing files per run), `sources`
(landing files before vendor payloads) and `ingest` (accept into the raw layer
or quarantine). They import no adapter either: they are given the lake as the protocols of
fin_assets.objects.store.
The sensor, the job and the raw_quotes branch live in fin_assets/defs/ingest/landing.py.
"""
