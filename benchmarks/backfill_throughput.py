"""Backfill throughput through a real `dagster-daemon`: range runs vs one run per partition.

A universe of `--symbols` symbols (the checked-in ten plus synthetic XNYS equities, through
FIN_UNIVERSE_FILE; with `--block-size`, in partition blocks of that many symbols,
docs/scaling.md) × `--days` dates from the first partition date, in a throw-away FIN_HOME with
its instance on a throw-away Postgres database:

1. "range": one asset backfill of the date × symbol graph (raw quotes → facts) over the whole
   rectangle, as the UI submits it. BackfillPolicy.single_run makes it one run per symbol (or
   block): Dagster ranges a multi-partition subset along its time dimension only.
2. "per partition" (baseline): `--sample` backfills of one (date, symbol or block) partition
   each, submitted together on the same instance (history in place), as many runs as a backfill
   without range runs makes per partition. Its per-partition time, times the rectangle's
   partition count, is the extrapolated time of the same backfill one partition per run.

    python -m benchmarks.backfill_throughput --symbols 20 --days 365 --sample 10 --block-size 10
"""

import argparse
import os
import platform
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import yaml

from fin_assets.universe.universe import CHECKED_IN_UNIVERSE, assign_blocks

BACKFILL_TAG = "dagster/backfill"
TIMEOUT_SECONDS = 3 * 3600


def write_universe(symbols: int, folder: Path, block_size: int | None = None) -> Path:
    """The checked-in universe plus synthetic XNYS equities up to `symbols` entries.

    With `block_size`, every symbol is assigned a partition block of at most that many symbols
    (fin_assets.universe.universe.assign_blocks; docs/scaling.md).
    """
    entries = yaml.safe_load(CHECKED_IN_UNIVERSE.read_text())["symbols"]
    for n in range(len(entries), symbols):
        ticker = f"SYN{n:03d}"
        entries.append(
            {
                "symbol": ticker,
                "name": f"Synthetic equity {n}",
                "asset_class": "equity",
                "exchange": "XNYS",
                "calendar": "XNYS",
                "currency": "USD",
                "timezone": "America/New_York",
                "sector": "Synthetic",
                "vendor_ids": {"alphavantage": ticker, "coingecko": None, "yahoo": ticker},
            }
        )
    entries = entries[:symbols]
    if block_size is not None:
        entries = assign_blocks(entries, block_size)
    path = folder / "universe.yaml"
    path.write_text(yaml.safe_dump({"symbols": entries}, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--sample", type=int, default=10)
    parser.add_argument(
        "--block-size",
        type=int,
        default=None,
        help="partition blocks of at most this many symbols (docs/scaling.md); default: none",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fin_backfill_bench_"))
    # The universe defines the partitions: set it before fin_assets is imported.
    os.environ["FIN_UNIVERSE_FILE"] = str(write_universe(args.symbols, folder, args.block_size))
    run(folder, args.days, args.sample)


def run(folder: Path, days: int, sample: int) -> None:
    from dagster import DagsterRunStatus, RunsFilter
    from dagster._core.execution.backfill import BulkActionStatus

    from fin_assets.definitions import defs
    from fin_assets.defs.common.jobs import job_assets
    from fin_assets.defs.common.partitions import graph_partitions

    partitions = graph_partitions()
    from fin_assets.instance import open_instance
    from fin_assets.instance_database import database_url, drop_postgres_database
    from fin_assets.settings import Settings
    from fin_assets.testing.daemon import (
        backfill_finished,
        idle,
        running_daemon,
        submit_backfill,
    )
    from fin_assets.testing.postgres import postgres_server

    settings = Settings.local(
        folder / "fin_home",
        database_url(postgres_server(), f"fin_assets_bench_{uuid.uuid4().hex[:12]}"),
    )
    dates = [partitions.values.history_start + timedelta(n) for n in range(days)]
    history_assets = job_assets(defs, "symbol_history_job")
    values = list(partitions.values.members)  # symbols, or blocks in a blocked universe
    rectangle = [str(partitions.partition_key(d, value)) for d in dates for value in values]
    instance = open_instance(settings)
    env = {"FIN_UNIVERSE_FILE": os.environ["FIN_UNIVERSE_FILE"]}
    try:
        with running_daemon(settings, env) as daemon:
            began = time.perf_counter()
            backfill_id = submit_backfill(instance, settings, history_assets, rectangle, "range")
            daemon.wait_for(
                "the range backfill",
                lambda: backfill_finished(instance, backfill_id),
                TIMEOUT_SECONDS,
            )
            range_seconds = time.perf_counter() - began
            range_runs = instance.get_runs(RunsFilter(tags={BACKFILL_TAG: backfill_id}))
            range_backfill = instance.get_backfill(backfill_id)
            if range_backfill.status != BulkActionStatus.COMPLETED_SUCCESS:
                raise RuntimeError(
                    f"range backfill {range_backfill.status}: {range_backfill.error}\n"
                    f"{daemon.log_tail()}"
                )
            daemon.wait_for("idle", lambda: idle(instance), TIMEOUT_SECONDS)

            # One partition per backfill: late dates, one symbol (block) each, history in place.
            picks = [
                str(partitions.partition_key(dates[-1 - i], values[i % len(values)]))
                for i in range(sample)
            ]
            began = time.perf_counter()
            sample_ids = [
                submit_backfill(instance, settings, history_assets, [key], "one") for key in picks
            ]
            daemon.wait_for(
                "the per-partition backfills",
                lambda: all(backfill_finished(instance, b) for b in sample_ids),
                TIMEOUT_SECONDS,
            )
            sample_seconds = time.perf_counter() - began
            sample_runs = [
                run
                for backfill in sample_ids
                for run in instance.get_runs(RunsFilter(tags={BACKFILL_TAG: backfill}))
            ]
        failed = [
            r.run_id for r in range_runs + sample_runs if r.status != DagsterRunStatus.SUCCESS
        ]
    finally:
        drop_postgres_database(settings.dagster_pg_url)
    per_partition = sample_seconds / sample
    extrapolated = per_partition * len(rectangle)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"rectangle: {len(dates)} dates × {len(partitions.values.symbols)} symbols in "
        f"{len(values)} partition values = {len(rectangle):,} partitions, "
        f"{len(dates) * len(partitions.values.symbols):,} symbol-days"
    )
    print(
        f"range backfill: {range_seconds:.1f} s in {len(range_runs)} runs "
        f"({len(rectangle) / range_seconds:.1f} partitions/s)"
    )
    print(
        f"per-partition sample: {sample} partitions in {sample_seconds:.1f} s, "
        f"{len(sample_runs)} runs ({per_partition:.1f} s per partition)"
    )
    print(f"per-partition extrapolated to the rectangle: {extrapolated / 3600:.1f} h")
    print(f"ratio per-partition / range: {extrapolated / range_seconds:.0f}×")
    print(f"failed runs: {failed or 'none'}")


if __name__ == "__main__":
    main()
