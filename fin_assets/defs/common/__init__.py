"""Dagster wiring of the common domain."""
