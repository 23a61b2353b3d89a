"""Benchmarks of fin_assets (see BENCHMARKS.md)."""
