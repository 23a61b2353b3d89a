"""The warehouse's Dagster-free domain: its star schema (model), numbered migrations (sql/,
migrations) and the market report's dashboard."""
