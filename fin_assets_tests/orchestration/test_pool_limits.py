"""Pool limits are set explicitly when the instance is opened (Dagster issue #33552)."""

from fin_assets.instance import open_instance
from fin_assets.settings import Settings

POOLS = {
    "duckdb_warehouse",
    "vendor_alpha_vantage",
    "vendor_coingecko",
    "vendor_offline",
    "vendor_yahoo",
}


def test_every_pool_of_the_code_location_gets_an_explicit_limit(fin_settings: Settings) -> None:
    instance = open_instance(fin_settings)
    storage = instance.event_log_storage
    assert storage.get_concurrency_keys() == POOLS
    for pool in POOLS:
        info = storage.get_concurrency_info(pool)
        assert (info.limit, info.using_default_limit) == (1, False), pool

    # An operator's own limit is kept when the instance is opened again.
    storage.set_concurrency_slots("vendor_yahoo", 3)
    reopened = open_instance(fin_settings).event_log_storage
    assert reopened.get_concurrency_info("vendor_yahoo").limit == 3
    assert reopened.get_concurrency_info("duckdb_warehouse").limit == 1
