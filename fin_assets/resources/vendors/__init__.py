"""Market-data vendor connectors: Alpha Vantage, CoinGecko, Yahoo Finance (docs/vendors.md)."""
