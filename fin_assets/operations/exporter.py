"""`fin-assets metrics`: the Prometheus exporter of one FIN_HOME, serving `/metrics`.

The collector (operations.metrics.FinAssetsCollector) reads the instance, warehouse, lake and
vendor limiter store at each scrape (operations.sources); the registry holds only it, so the
page carries the `fin_assets_*` metrics and nothing of the exporter process itself.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, start_http_server

from fin_assets.definitions import build_definitions
from fin_assets.instance import open_instance
from fin_assets.operations.config import OperationsConfig
from fin_assets.operations.metrics import FinAssetsCollector
from fin_assets.operations.sources import PlatformSources
from fin_assets.settings import Settings


def build_registry(
    settings: Settings, config: OperationsConfig, interval_seconds: float
) -> CollectorRegistry:
    """A registry with the collector over `settings`' stores and the code location's assets
    and checks; lake and warehouse read at most once per `interval_seconds`."""
    graph = build_definitions(settings).resolve_asset_graph()
    sources = PlatformSources(
        settings=settings,
        instance=open_instance(settings),
        asset_keys=sorted(graph.materializable_asset_keys),
        check_keys=sorted(graph.asset_check_keys),
        config=config,
        interval_seconds=interval_seconds,
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FinAssetsCollector(sources.sources()))
    return registry


def serve(registry: CollectorRegistry, host: str, port: int) -> None:
    """Serve `registry` at http://host:port/metrics until the process is stopped."""
    server, thread = start_http_server(port, addr=host, registry=registry)
    try:
        thread.join()
    finally:
        server.shutdown()
