"""FIN_MARKET_SOURCE=vendors builds the vendors source: keys from the environment, recording."""

from dataclasses import replace
from pathlib import Path

from dagster import EnvVar

from fin_assets.resources.environments import market_data_resource
from fin_assets.resources.vendors.routing import VendorMarketSource
from fin_assets.settings import Settings


def test_vendors_switch(tmp_path: Path) -> None:
    local = Settings.local(tmp_path, dagster_pg_url="postgresql://unused")
    source = market_data_resource(replace(local, market_source="vendors"))
    assert isinstance(source, VendorMarketSource)
    assert source.alphavantage_api_key == EnvVar("ALPHAVANTAGE_API_KEY")
    assert source.coingecko_api_key == EnvVar("COINGECKO_API_KEY")
    assert (source.mode, source.archive_root) == ("record", local.lake_root)
    assert (source.equity_vendor, source.crypto_vendor) == ("alphavantage", "coingecko")
    # The limiters' shared state: a SQLite file under FIN_HOME locally, the instance's
    # Postgres (URL read at run time) in prod.
    assert source.limiter_store_url == f"sqlite:///{tmp_path / 'vendor_limiter.sqlite'}"
    prod = market_data_resource(replace(local, env="prod", market_source="vendors"))
    assert prod.limiter_store_url == EnvVar("FIN_DAGSTER_PG_URL")
