"""The one place that chooses the adapters for an environment (see fin_assets.settings).

FIN_ENV picks the defaults; each switch (lake URL, warehouse, market source, Spark runner,
executor) can be set on its own, so the same code runs offline and against the cloud.

The cloud adapters are imported only when chosen: the Snowflake and AWS SDKs take seconds to
import, and every run process, sensor tick's code server and test loads this module.
"""

from __future__ import annotations

from typing import Any

from dagster import EnvVar

from fin_assets.resources.market_data import SyntheticMarketSource
from fin_assets.resources.report_site import ReportSiteResource
from fin_assets.resources.spark_runner import LocalSparkRunner
from fin_assets.resources.storage import DuckDBWarehouseResource, LakeResource
from fin_assets.resources.vendors.routing import VendorMarketSource
from fin_assets.settings import Settings, environ


def market_data_resource(settings: Settings) -> Any:
    """FIN_MARKET_SOURCE: the synthetic market, or the real vendors (docs/vendors.md).

    Vendors: equities and ETFs from Alpha Vantage, crypto from CoinGecko's demo plan (keys read
    at run time from ALPHAVANTAGE_API_KEY and COINGECKO_API_KEY); answers are recorded under
    the lake's raw layer, so `mode: replay` in the resource config can rerun them offline.
    """
    if settings.market_source == "synthetic":
        return SyntheticMarketSource(seed=settings.seed)
    return VendorMarketSource(
        alphavantage_api_key=EnvVar("ALPHAVANTAGE_API_KEY"),
        coingecko_api_key=EnvVar("COINGECKO_API_KEY"),
        mode="record",
        archive_root=settings.raw_root,
        # The rate limiters' state, shared by every run: the instance's Postgres in prod (URL
        # read at run time), a SQLite file under FIN_HOME otherwise.
        limiter_store_url=(
            EnvVar("FIN_DAGSTER_PG_URL")
            if settings.env == "prod"
            else local_limiter_store_url(settings)
        ),
    )


def local_limiter_store_url(settings: Settings) -> str:
    """The vendor limiters' shared state outside prod: a SQLite file under FIN_HOME."""
    return f"sqlite:///{settings.home / 'vendor_limiter.sqlite'}"


def limiter_store_url(settings: Settings) -> str:
    """Where the vendor limiters keep their state (read by the metrics exporter): the
    instance's Postgres (FIN_DAGSTER_PG_URL) in prod, the local SQLite file otherwise."""
    return settings.dagster_pg_url if settings.env == "prod" else local_limiter_store_url(settings)


def warehouse_resource(settings: Settings) -> Any:
    if settings.warehouse == "duckdb":
        return DuckDBWarehouseResource(path=str(settings.warehouse_path))
    from fin_assets.resources.warehouse_snowflake import snowflake_warehouse_from_env

    return snowflake_warehouse_from_env(environ())


def spark_resource(settings: Settings) -> Any:
    """The Spark runner of FIN_SPARK; the cloud runners' roles, security configuration, subnets,
    log URI and Serverless application come from the Terraform outputs as FIN_SPARK_* and
    FIN_EMR_* variables (fin_assets.resources.spark_emr, read at run time)."""
    if settings.spark == "local":
        return LocalSparkRunner()
    from fin_assets.resources.spark_emr import emr_runner_from_env, emr_serverless_runner_from_env

    if settings.spark == "emr":
        return emr_runner_from_env(environ())
    return emr_serverless_runner_from_env(environ())


def lake_resource(settings: Settings) -> LakeResource:
    """The lake: curated datasets under FIN_LAKE_URL, the landing and raw zones under
    FIN_LANDING_URL and FIN_RAW_URL when set (the CLI and the stream writer use it too); the
    copies of an object-store lake's files under FIN_HOME/lake_cache (FIN_LAKE_CACHE_MAX_BYTES
    at most; none at 0)."""
    caching = settings.lake_cache_max_bytes > 0
    return LakeResource(
        root=settings.lake_root,
        landing_root=settings.landing_root,
        raw_root=settings.raw_root,
        file_cache_dir=str(settings.lake_cache_dir) if caching else "",
        file_cache_max_bytes=settings.lake_cache_max_bytes,
    )


def resources_for(settings: Settings) -> dict[str, Any]:
    """Resources keyed as the assets require them: market_data, lake, warehouse, spark,
    report_site."""
    return {
        "market_data": market_data_resource(settings),
        "lake": lake_resource(settings),
        "warehouse": warehouse_resource(settings),
        "spark": spark_resource(settings),
        "report_site": ReportSiteResource(base_url=settings.report_url),
    }
