"""The real CryptoCompare day of ../shared/data and what its README says of it."""

from pathlib import Path

REAL_DAY = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "data"
    / "crypto_minute_2025-10-12.parquet"
)
# Bars whose high/low do not cover open/close, per coin, as the data's README states them.
INCONSISTENT_BARS = {
    "UNISWAP": 32,
    "AVALANCHE-2": 4,
    "CHAINLINK": 3,
    "ETHEREUM": 2,
    "SOLANA": 1,
    "POLKADOT": 1,
    "BITCOIN": 0,
    "CARDANO": 0,
}
