"""Thin Dagster definitions, grouped by layer: ingest → bars → analytics → risk → warehouse."""
