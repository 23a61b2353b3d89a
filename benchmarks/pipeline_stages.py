"""Throughput of each pipeline stage of the demo, against a Parquet I/O floor in the same run.

Runs the real jobs (as `fin-assets demo` does) over `--days` dates × the whole universe in a
throw-away FIN_HOME, reads each step's duration from the instance's event log and its row
count from the materialization metadata, then times the baseline: writing and reading back the
same rows as one Parquet file with pyarrow alone. The ratio says how many times slower a stage
is than just moving its output through Parquet once.

    python -m benchmarks.pipeline_stages --days 120
"""

import argparse
import os
import platform
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import DagsterEventType, DagsterInstance
from rich.console import Console
from rich.progress import Progress

from fin_assets.instance import open_instance
from fin_assets.instance_database import database_url, drop_postgres_database
from fin_assets.resources.lake import ParquetLake
from fin_assets.runner import plan_runs, run_stages
from fin_assets.settings import Settings
from fin_assets.shared.lake_io import calendar_dates
from fin_assets.shared.partitions import partition_values
from fin_assets.testing.postgres import postgres_server

# Lake dataset written by each step (the multi-asset step writes two; its first is measured).
STAGE_DATASETS = {
    "intraday_bars": "intraday_bars",
    "daily_bars": "daily_bars",
    "technical_indicators": "technical_indicators",
    "trading_signals": "trading_signals",
    "risk_metrics": "risk_metrics",
    "portfolio_risk": "portfolio_risk",
}


def step_timings(instance: DagsterInstance, run_id: str) -> dict[str, tuple[float, int]]:
    """Seconds and rows of every step of a run, from its event log."""
    started: dict[str, float] = {}
    timings: dict[str, tuple[float, int]] = {}
    rows: dict[str, int] = {}
    for record in instance.get_records_for_run(run_id, limit=1_000_000).records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            started[event.step_key] = entry.timestamp
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            metadata = event.step_materialization_data.materialization.metadata
            # A range run's total; an unpartitioned asset's rows are its row count.
            count = metadata.get("rows_in_run") or metadata.get("dagster/row_count")
            if count is not None:
                rows.setdefault(event.step_key, int(count.value))
        elif event.event_type == DagsterEventType.STEP_SUCCESS:
            seconds = entry.timestamp - started[event.step_key]
            timings[event.step_key] = (seconds, rows.get(event.step_key, 0))
    return timings


def parquet_floor(table: pa.Table, partitions: int, folder: Path) -> float:
    """Seconds for pyarrow alone to write `table` as `partitions` Snappy Parquet files and read
    them back: the unavoidable cost of one file per partition, without Dagster or compute."""
    target = folder / f"floor-{uuid.uuid4().hex}"
    target.mkdir()
    bounds = [round(i * table.num_rows / partitions) for i in range(partitions + 1)]
    began = time.perf_counter()
    paths = []
    for index in range(partitions):
        path = target / f"{index}.parquet"
        pq.write_table(table.slice(bounds[index], bounds[index + 1] - bounds[index]), path)
        paths.append(path)
    for path in paths:
        pq.read_table(path)
    return time.perf_counter() - began


def step_partitions(step: str, dates: int) -> int:
    """Partitions one step materializes in the benchmark's runs."""
    if step in ("dim_date", "dim_symbol"):
        return 1
    if step in ("portfolio_risk", "fact_portfolio_risk", "fact_correlation"):
        return dates
    return dates * len(partition_values().symbols)


def machine_description() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}"


def load_average() -> str:
    """The machine's load average (1, 5, 15 min): wall-clock figures under load are noisy."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f}"


def read_dataset(lake: ParquetLake, dataset: str) -> pa.Table:
    files = sorted(Path(lake.root, dataset).rglob("part-0.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=120)
    args = parser.parse_args()
    console = Console()
    values = partition_values()
    end = values.history_start + timedelta(days=args.days - 1)
    pg_url = database_url(postgres_server(), f"fin_assets_bench_{uuid.uuid4().hex[:12]}")
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.local(Path(folder), dagster_pg_url=pg_url)
        try:
            instance = open_instance(settings)
            timings: dict[str, tuple[float, int]] = {}
            began = time.perf_counter()
            with Progress(console=console) as progress:
                stages = plan_runs(values.history_start, end, values.symbols, parallel_runs=1)
                for outcome in run_stages(settings, stages, progress).runs:
                    if not outcome.success:
                        raise SystemExit(f"{outcome.request.label} failed")
                    timings |= step_timings(instance, outcome.run_id)
            total = time.perf_counter() - began
            lake = ParquetLake(settings.lake_root)
            lines = [
                f"Window: {values.history_start} → {end} "
                f"({len(calendar_dates(values.history_start, end))} dates) × "
                f"{len(values.symbols)} symbols; all runs {total:.1f} s.",
                "",
                "| stage | seconds | rows | rows/s | partitions/s | floor s | stage / floor |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            ]
            dates = len(calendar_dates(values.history_start, end))
            for step, (seconds, rows) in timings.items():
                partitions = step_partitions(step, dates)
                dataset = STAGE_DATASETS.get(step)
                floor = ratio = "-"
                if dataset is not None:
                    floor_seconds = parquet_floor(
                        read_dataset(lake, dataset), partitions, Path(folder)
                    )
                    floor, ratio = f"{floor_seconds:.3f}", f"{seconds / floor_seconds:.1f}"
                rate = f"{rows / seconds:,.0f}" if rows else "-"
                lines.append(
                    f"| {step} | {seconds:.2f} | {rows:,} | {rate} | "
                    f"{partitions / seconds:,.0f} | {floor} | {ratio} |"
                )
        finally:
            drop_postgres_database(pg_url)
    console.print(f"Machine: {machine_description()}")
    console.print("\n".join(lines))


if __name__ == "__main__":
    main()
