"""Dagster wiring of the warehouse domain."""
