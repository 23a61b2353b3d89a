"""Dagster wiring of the streaming domain."""
