"""How Dagster's own work grows with the partition count of the date × symbol assets.

For each size (symbols × days), a fresh Python process loads fin_assets.definitions with a
universe of that many symbols (FIN_UNIVERSE_FILE, synthetic XNYS equities after the checked-in
ten) and a first partition date `days` ago (FIN_HISTORY_START), then times what the daemon and
the UI do with every partition of the graph:

- load: importing the code location (what a code server does at start and on reload);
- keys: listing every partition key of one date × symbol asset (UI partition views);
- tick: one automation evaluation over all assets (the `fin_automation` sensor's tick), on an
  instance where nothing is materialized, then a second (steady-state) one;
- backfill: building the asset backfill of raw_quotes and technical_indicators over every
  partition (the UI's partition picker before submission).

Times are CPU seconds of the process (time.process_time): on a shared machine they do not
count the time other processes hold the cores. Each size gets `--timeout` wall seconds; a size
that does not finish is reported as such. The baseline is the smallest size of the same run.

A size `SxD/B` gives the universe partition blocks of at most B symbols (docs/scaling.md): the
member dimension then has ceil(S/B) blocks instead of S symbols.

    python -m benchmarks.partition_scale --sizes 10x693 100x1000 500x3652/20 500x3652
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.backfill_throughput import write_universe


def measure() -> dict[str, float]:
    """Run in the child process: the timings of one size (environment already set)."""
    began = time.process_time()
    from dagster import AssetKey, DagsterInstance, evaluate_automation_conditions
    from dagster._core.execution.backfill import PartitionBackfill

    from fin_assets.definitions import defs
    from fin_assets.defs.common.partitions import graph_partitions

    graph = defs().resolve_asset_graph()
    timings = {"load": time.process_time() - began}
    began = time.process_time()
    keys = graph_partitions().date_symbol_partitions.get_partition_keys()
    timings["keys"] = time.process_time() - began
    timings["partitions"] = len(keys)
    instance = DagsterInstance.ephemeral()
    began = time.process_time()
    result = evaluate_automation_conditions(defs(), instance)
    timings["tick"] = time.process_time() - began
    began = time.process_time()
    evaluate_automation_conditions(defs(), instance, cursor=result.cursor)
    timings["steady_tick"] = time.process_time() - began
    began = time.process_time()
    PartitionBackfill.from_asset_partitions(
        backfill_id="scale",
        asset_graph=graph,
        partition_names=keys,
        asset_selection=[AssetKey("raw_quotes"), AssetKey("technical_indicators")],
        backfill_timestamp=time.time(),
        tags={},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=None,
        description=None,
        run_config=None,
    )
    timings["backfill"] = time.process_time() - began
    timings["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return timings


def run_size(
    symbols: int, days: int, block_size: int | None, timeout: float
) -> dict[str, float] | None:
    folder = Path(tempfile.mkdtemp(prefix="fin_scale_"))
    start = datetime.now(UTC).date() - timedelta(days=days)
    env = {
        **os.environ,
        "FIN_UNIVERSE_FILE": str(write_universe(symbols, folder, block_size)),
        "FIN_HISTORY_START": start.isoformat(),
        "FIN_HOME": str(folder / "fin_home"),
    }
    try:
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.partition_scale", "--child"],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return None
    return json.loads(child.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["10x693", "100x1000", "500x3652/20"])
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure()))
        return
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        "| symbols × days | partitions per asset | load CPU s | keys CPU s | first tick CPU s | "
        "steady tick CPU s | backfill build CPU s | peak RSS MiB |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in args.sizes:
        shape, _, blocks = size.partition("/")
        symbols, days = (int(part) for part in shape.split("x"))
        block_size = int(blocks) if blocks else None
        label = f"{symbols} × {days}" + (f" in blocks of {block_size}" if block_size else "")
        timings = run_size(symbols, days, block_size, args.timeout)
        if timings is None:
            print(f"| {label} | | did not finish in {args.timeout:.0f} s | | | | | |")
            continue
        print(
            f"| {label} | {int(timings['partitions']):,} | {timings['load']:.1f} | "
            f"{timings['keys']:.2f} | {timings['tick']:.1f} | {timings['steady_tick']:.1f} | "
            f"{timings['backfill']:.1f} | {timings['peak_rss_mib']:.0f} |"
        )


if __name__ == "__main__":
    main()
