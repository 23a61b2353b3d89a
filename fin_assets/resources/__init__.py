"""Adapters to storage and vendors: the Parquet lake, the warehouse, market-data clients."""
