"""Dagster wiring of the analytics domain."""
