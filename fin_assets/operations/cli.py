"""`fin-assets metrics [--host H] [--port P]`: the subcommand's arguments and entry point."""

from __future__ import annotations

import argparse

from fin_assets.operations.config import CONFIG_ENV, load_config
from fin_assets.operations.exporter import build_registry, serve
from fin_assets.settings import Settings

DEFAULT_PORT = 9108


def add_metrics_command(commands: argparse._SubParsersAction) -> None:
    metrics = commands.add_parser(
        "metrics", help="serve Prometheus metrics of this FIN_HOME at http://HOST:PORT/metrics"
    )
    metrics.add_argument("--host", default="127.0.0.1", help="address to listen on")
    metrics.add_argument("--port", type=int, default=DEFAULT_PORT)
    metrics.add_argument(
        "--config", default=None, help=f"SLA and price YAML (default: ${CONFIG_ENV})"
    )
    metrics.add_argument(
        "--lake-interval",
        type=float,
        default=60.0,
        help="seconds between readings of the lake listing and warehouse counts (default 60)",
    )


def run_metrics(args: argparse.Namespace, settings: Settings) -> int:
    registry = build_registry(settings, load_config(args.config), args.lake_interval)
    print(f"serving http://{args.host}:{args.port}/metrics for FIN_HOME={settings.home}")
    serve(registry, args.host, args.port)
    return 0
