"""Dagster wiring of the ingest domain."""
