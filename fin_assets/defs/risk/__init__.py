"""Dagster wiring of the risk domain."""
