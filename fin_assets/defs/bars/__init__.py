"""Dagster wiring of the bars domain."""
