"""fin_assets: a market-data platform built as a Dagster asset graph."""
