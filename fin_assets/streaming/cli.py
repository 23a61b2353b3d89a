"""`fin-assets stream publish` and `fin-assets stream land` (wired into fin_assets.cli)."""

from __future__ import annotations

import argparse
import logging
from datetime import date

from fin_assets.resources.environments import lake_resource, market_data_resource
from fin_assets.settings import Settings, environ
from fin_assets.streaming import landing_writer as writer
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.publisher import QuotePublisher, poll_source, replay_day
from fin_assets.universe import load_universe

SOURCES = ("simulator", "poll")


def add_stream_commands(commands: argparse._SubParsersAction) -> None:
    """Add `stream publish` and `stream land` to the top-level subcommands."""
    stream = commands.add_parser("stream", help="the Kafka quote stream (docs/streaming.md)")
    actions = stream.add_subparsers(dest="stream_command", required=True)
    publish = actions.add_parser("publish", help="publish quotes of one trading day")
    publish.add_argument("--date", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    publish.add_argument("--symbols", default="", help="comma-separated (default: the universe)")
    publish.add_argument(
        "--source",
        choices=SOURCES,
        default="simulator",
        help="simulator: replay the synthetic day; poll: poll FIN_MARKET_SOURCE",
    )
    publish.add_argument(
        "--speed", type=float, default=60.0, help="simulator replay speed-up (0: no pacing)"
    )
    publish.add_argument("--interval", type=float, default=60.0, help="poll: seconds between")
    publish.add_argument("--polls", type=int, default=1, help="poll: how many polls")
    land = actions.add_parser("land", help="consume the stream into the lake's landing zone")
    land.add_argument("--group", default=writer.DEFAULT_GROUP, help="consumer group")
    land.add_argument("--flush-seconds", type=float, default=writer.DEFAULT_FLUSH_SECONDS)
    land.add_argument("--flush-messages", type=int, default=writer.DEFAULT_FLUSH_MESSAGES)
    land.add_argument("--lateness-ms", type=int, default=writer.DEFAULT_LATENESS_MS)
    land.add_argument("--session-timeout-ms", type=int, default=writer.DEFAULT_SESSION_TIMEOUT_MS)
    land.add_argument(
        "--until-caught-up", action="store_true", help="stop once every partition is consumed"
    )
    for command in (publish, land):
        command.add_argument("--bootstrap", help="default: FIN_KAFKA_BOOTSTRAP")
        command.add_argument("--topic", help="default: FIN_KAFKA_TOPIC or 'quotes'")


def run_stream(args: argparse.Namespace, settings: Settings) -> int:
    """Run a parsed `stream` command; logs progress on stderr."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    kafka = KafkaSettings.from_env(environ(), args.bootstrap, args.topic)
    if args.stream_command == "land":
        config = writer.WriterConfig(
            group=args.group,
            flush_seconds=args.flush_seconds,
            flush_messages=args.flush_messages,
            lateness_ms=args.lateness_ms,
            session_timeout_ms=args.session_timeout_ms,
            until_caught_up=args.until_caught_up,
        )
        writer.LandingWriter(kafka, lake_resource(settings).get_lake(), config).run()
        return 0
    universe = {symbol.symbol: symbol for symbol in load_universe()}
    names = [s.strip() for s in args.symbols.split(",") if s.strip()] or list(universe)
    unknown = [name for name in names if name not in universe]
    if unknown:
        raise ValueError(f"symbols not in the universe: {unknown}")
    symbols = [universe[name] for name in names]
    publisher = QuotePublisher(kafka)
    if args.source == "simulator":
        replay_day(publisher, settings.seed, symbols, args.date, args.speed)
    else:
        source = market_data_resource(settings)
        poll_source(publisher, source, symbols, args.date, args.interval, args.polls)
    return 0
