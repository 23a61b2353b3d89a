"""Dagster wiring of the operations domain."""
