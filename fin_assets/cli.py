"""The `fin-assets` command: demo, backfill, dev, daemon, stream, ingest-landing, refresh-stale
and metrics."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from dagster import AssetKey, DagsterInstance
from dagster._core.definitions.utils import MAX_TITLE_LENGTH
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fin_assets.definitions import build_definitions
from fin_assets.defs.ingest.landing import LandingOutcome, process_landing_files
from fin_assets.defs.ingest.lookback import refresh_runs
from fin_assets.dev import LOG_LEVELS, DevOptions, run_dev
from fin_assets.instance import open_instance, prepare_instance_environment
from fin_assets.landing.contract import parse_landing_key
from fin_assets.operations.cli import add_metrics_command, run_metrics
from fin_assets.resources.environments import lake_resource, warehouse_resource
from fin_assets.resources.storage import opened_warehouse
from fin_assets.resources.warehouse import Warehouse
from fin_assets.runner import (
    QUIET_RUN_CONFIG,
    BackfillOutcome,
    GraphPlan,
    PlanError,
    check_outcomes,
    plan_graph,
    run_stages,
    step_failures,
    write_run_log,
)
from fin_assets.settings import Settings, get_settings
from fin_assets.shared.partitions import partition_values
from fin_assets.streaming.cli import add_stream_commands, run_stream
from fin_assets.warehouse.staleness import REFRESH_COMMAND, STALE_RANGES_SQL

console = Console()
# Incomplete sessions listed by name in the summaries (the count is always printed).
LISTED_INCOMPLETE = 20


def last_complete_date() -> date:
    """Yesterday in UTC: the newest date partition."""
    return datetime.now(UTC).date() - timedelta(days=1)


def run_graph(settings: Settings, command: str, plan: GraphPlan, title: str) -> BackfillOutcome:
    """Run a plan's stages as one backfill, showing each run's progress."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=console) as progress:
        return run_stages(settings, plan.stages, progress, command=command, title=title)


def print_failures(settings: Settings, instance: DagsterInstance, outcome: BackfillOutcome) -> None:
    """For each failed run: its failed steps with a one-line cause, and where its full log is."""
    for run in outcome.runs:
        if run.success:
            continue
        console.print(f"[red]{run.request.label} failed[/red] (run {run.run_id})", soft_wrap=True)
        for failure in step_failures(instance, run.run_id):
            console.print(f"  {failure.step}: {escape(failure.cause)}", soft_wrap=True)
        log = write_run_log(instance, run.run_id, settings.home / "logs")
        console.print(
            f"  full log: {log}, or /runs/{run.run_id} in `fin-assets dev`", soft_wrap=True
        )


def print_summary(settings: Settings, outcome: BackfillOutcome) -> bool:
    """Print runs, checks, warehouse rows, signals and the market report's location.

    True when every run succeeded and no ERROR-severity check failed (failed WARN checks, such
    as a rejected VaR backtest, are shown as warnings).
    """
    instance = open_instance(settings)
    runs = Table(title=f"Runs of backfill {outcome.backfill_id} ({outcome.status.value})")
    for column in ("job", "range", "run id", "seconds", "status"):
        runs.add_column(column)
    checks = Table(title="Asset checks")
    for column in ("asset", "check", "result", "detail"):
        checks.add_column(column)
    all_passed = bool(outcome.runs)
    for run in outcome.runs:
        request = run.request
        span = f"{request.range_start} → {request.range_end}" if request.range_start else "-"
        status = "[green]success" if run.success else "[red]failure"
        runs.add_row(request.job_name, span, run.run_id[:8], f"{run.seconds:.1f}", status)
        all_passed &= run.success
        for check in check_outcomes(instance, run.run_id):
            if check.passed:
                result = "[green]passed"
            else:
                result = "[red]failed" if check.blocking_severity else "[yellow]warning"
            checks.add_row(check.asset, check.check, result, "" if check.passed else check.detail)
            all_passed &= check.passed or not check.blocking_severity
    console.print(runs)
    console.print(checks)
    with opened_warehouse(warehouse_resource(settings)) as warehouse:
        counts = warehouse.row_counts()
        signals = warehouse.query(
            "SELECT signal, count(*) AS fired, count(DISTINCT symbol) AS symbols "
            "FROM fact_signal GROUP BY signal ORDER BY signal"
        )
    rows = Table(title="Warehouse tables")
    rows.add_column("table")
    rows.add_column("rows", justify="right")
    for table, count in counts.items():
        rows.add_row(table, f"{count:,}")
    console.print(rows)
    found = Table(title="Signals found")
    for column in ("signal", "fired", "symbols"):
        found.add_column(column, justify="right" if column != "signal" else "left")
    for row in signals.itertuples(index=False):
        found.add_row(row.signal, f"{row.fired:,}", str(row.symbols))
    console.print(found)
    with opened_warehouse(warehouse_resource(settings)) as warehouse:
        print_incomplete_sessions(warehouse)
        print_stale_rows(warehouse)
    print_failures(settings, instance, outcome)
    report = instance.get_latest_materialization_event(AssetKey("market_report"))
    if report is not None and report.asset_materialization is not None:
        path = report.asset_materialization.metadata["path"].value
        console.print(f"Market report: {path}", soft_wrap=True)
    return all_passed


def ingest_landing(settings: Settings) -> int:
    """Process every landing object without a successful run yet, then the look-back dependents
    of each ingested file (fin_assets/defs/ingest/landing.py), printing each object's state and the
    incomplete sessions of the files' partitions; 1 when one was rejected, its run failed, its
    dependents were left stale or it waits for something other than its dates' partition."""
    outcomes = process_landing_files(
        lake_resource(settings).get_lake(),
        open_instance(settings),
        build_definitions(settings),
        run_config=QUIET_RUN_CONFIG,
        on_file=print_landing_outcome,
    )
    counts = Counter(outcome.status for outcome in outcomes)
    console.print(
        f"{len(outcomes)} landing files: "
        + ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    )
    values = partition_values()
    landed = [
        parse_landing_key(o.key, values.symbols, values.history_start)
        for o in outcomes
        if o.status == "succeeded"
    ]
    with opened_warehouse(warehouse_resource(settings)) as warehouse:
        if landed:
            print_incomplete_sessions(warehouse, [(k.symbol, k.start, k.end) for k in landed])
        print_stale_rows(warehouse)
    bad = ("rejected", "failed", "dependents failed", "waiting")
    return 1 if any(counts[status] for status in bad) else 0


def print_landing_outcome(outcome: LandingOutcome) -> None:
    detail = f" ({outcome.detail})" if outcome.detail else ""
    console.print(f"{outcome.key}: {outcome.status}{detail}", markup=False, soft_wrap=True)
    for label in outcome.stale:
        console.print(f"[red]  stale until re-run: {label}")


def stale_ranges(warehouse: Warehouse) -> pd.DataFrame:
    """The warehouse's stale rows per table and symbol: first and last date, row count."""
    ranges = warehouse.query(STALE_RANGES_SQL)
    for column in ("first_date", "last_date"):
        ranges[column] = pd.to_datetime(ranges[column]).dt.date
    ranges["symbol"] = ranges["symbol"].astype(object).where(ranges["symbol"].notna(), None)
    return ranges


def print_stale_rows(warehouse: Warehouse) -> int:
    """Print the warehouse's stale rows (computed from daily bars that changed since) per table
    and symbol, with the command recomputing them; their number."""
    ranges = stale_ranges(warehouse)
    total = int(ranges["stale_count"].sum())
    if not total:
        return 0
    table = Table(title=f"Stale warehouse rows ({total}; computed from daily bars changed since)")
    for column in ("table", "symbol", "first date", "last date", "rows"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for row in ranges.itertuples(index=False):
        table.add_row(
            row.table_name,
            row.symbol or "(portfolio)",
            str(row.first_date),
            str(row.last_date),
            f"[yellow]{row.stale_count}",
        )
    console.print(table)
    console.print(f"[yellow]{total} stale warehouse rows; recompute them: {REFRESH_COMMAND}")
    return total


def refresh_stale(settings: Settings) -> int:
    """Recompute the warehouse's stale rows (fin_assets.defs.ingest.lookback.refresh_runs), one run
    at a time; 0 when every run succeeded and no stale row is left."""
    with opened_warehouse(warehouse_resource(settings)) as warehouse:
        ranges = stale_ranges(warehouse)
    runs = refresh_runs(
        ranges[["symbol", "first_date", "last_date"]].itertuples(index=False, name=None)
    )
    if not runs:
        console.print("no stale warehouse rows")
        return 0
    instance, definitions = open_instance(settings), build_definitions(settings)
    failed = 0
    for run in runs:
        result = definitions.resolve_job_def(run.job_name).execute_in_process(
            instance=instance,
            run_config=QUIET_RUN_CONFIG,
            tags={**run.tags, "fin/launched_by": REFRESH_COMMAND},
            asset_selection=run.asset_keys,
            raise_on_error=False,
        )
        state = "[green]succeeded" if result.success else "[red]failed"
        console.print(f"{escape(run.label)}: {state} (run {result.run_id})", soft_wrap=True)
        failed += not result.success
    with opened_warehouse(warehouse_resource(settings)) as warehouse:
        left = print_stale_rows(warehouse)
    return 1 if failed or left else 0


def print_incomplete_sessions(
    warehouse: Warehouse, partitions: Sequence[tuple[str, date, date]] | None = None
) -> None:
    """The sessions of fact_daily_bar with missing minutes (all, or of `partitions`: symbol,
    first and last date), at most LISTED_INCOMPLETE of them, newest first, with the total."""
    where = "missing_minutes > 0"
    params: list[object] = []
    if partitions:
        where += (
            " AND ("
            + " OR ".join("(symbol = ? AND trade_date BETWEEN ? AND ?)" for _ in partitions)
            + ")"
        )
        params = [value for partition in partitions for value in partition]
    found = warehouse.query(
        "SELECT symbol, trade_date, bar_count, session_minutes, missing_minutes "
        f"FROM fact_daily_bar WHERE {where} ORDER BY trade_date DESC, symbol",
        params,
    )
    if found.empty:
        return
    table = Table(title=f"Incomplete sessions ({len(found)}; bars missing minutes)")
    for column in ("symbol", "trade date", "bars", "session minutes", "missing"):
        table.add_column(column, justify="left" if column in ("symbol", "trade date") else "right")
    for row in found.head(LISTED_INCOMPLETE).itertuples(index=False):
        table.add_row(
            row.symbol,
            str(pd.Timestamp(row.trade_date).date()),
            str(row.bar_count),
            str(row.session_minutes),
            f"[yellow]{row.missing_minutes}",
        )
    console.print(table)


def run_dagster_service(arguments: Sequence[str]) -> int:
    """Run a Dagster service (`dagster dev`, `dagster-daemon run`) until it exits; its exit code.

    The service gets a process group of its own and this process's signals, once each: SIGINT
    (Ctrl-C) as SIGINT, SIGTERM and SIGHUP as SIGTERM, so it shuts down gracefully; then this
    process exits, leaving the instance's embedded server (stopped when no other process uses
    it: fin_assets.instance_database). The handlers are set before the service starts: a handled
    signal is reset to the default in a child, so the service obeys SIGINT and SIGTERM even when
    this process was started with SIGINT ignored (a shell's background job).
    """
    services: list[subprocess.Popen] = []

    def forward(signum: int, _frame: object) -> None:
        for service in services:
            service.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    services.append(subprocess.Popen(arguments, process_group=0))
    code = services[0].wait()
    return code if code >= 0 else 128 - code


def parse_date(text: str) -> date:
    return date.fromisoformat(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fin-assets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    demo = commands.add_parser(
        "demo", help="materialize the whole graph for the default universe and window"
    )
    demo.add_argument("--start", type=parse_date, default=None, help="default: FIN_HISTORY_START")
    demo.add_argument("--end", type=parse_date, default=None, help="default: yesterday (UTC)")
    backfill = commands.add_parser("backfill", help="materialize the graph for a date range")
    backfill.add_argument("--start", type=parse_date, required=True)
    backfill.add_argument("--end", type=parse_date, required=True)
    for command in (demo, backfill):
        command.add_argument("--symbols", default=None, help="comma-separated, default: all")
        command.add_argument(
            "--parallel-runs",
            type=int,
            default=2,
            help="date × symbol runs executed at once, one process each (default 2)",
        )
    dev = commands.add_parser(
        "dev", help="the Dagster UI and daemon on this FIN_HOME (dagster dev), and the reports"
    )
    dev.add_argument("--host", default=DevOptions.host, help="default %(default)s")
    dev.add_argument("--port", type=int, default=DevOptions.port, help="default %(default)s")
    dev.add_argument(
        "--report-port",
        type=int,
        default=DevOptions.report_port,
        help="where the market reports are served over HTTP (default %(default)s)",
    )
    dev.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=DevOptions.log_level,
        help="of the webserver and daemon (default %(default)s; info logs every sensor tick)",
    )
    commands.add_parser(
        "daemon", help="run the Dagster daemon on this FIN_HOME (dagster-daemon run)"
    )
    commands.add_parser(
        "ingest-landing", help="process the lake's new landing/ files now, one run each"
    )
    commands.add_parser(
        "refresh-stale",
        help="recompute the warehouse rows computed from daily bars that changed since",
    )
    add_stream_commands(commands)
    add_metrics_command(commands)
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "metrics":
        return run_metrics(args, settings)
    if args.command == "stream":
        return run_stream(args, settings)

    # Every other command uses the instance: its database is resolved once, here (FIN_HOME's
    # embedded server joined unless FIN_DAGSTER_PG_URL is set), so the processes started below
    # get its URL.
    settings = prepare_instance_environment(settings)
    if args.command == "ingest-landing":
        return ingest_landing(settings)
    if args.command == "refresh-stale":
        return refresh_stale(settings)

    bin_folder = os.path.dirname(sys.executable)
    if args.command == "dev":
        options = DevOptions(args.host, args.port, args.report_port, args.log_level)
        return run_dev(settings, options)
    if args.command == "daemon":
        daemon = os.path.join(bin_folder, "dagster-daemon")
        return run_dagster_service([daemon, "run", "-m", "fin_assets.definitions"])

    values = partition_values()
    start = args.start or values.history_start
    end = args.end or last_complete_date()
    listed = ",".join(values.symbols) if args.symbols is None else args.symbols
    symbols = [s.strip() for s in listed.split(",") if s.strip()]
    try:
        plan = plan_graph(settings, start, end, symbols, args.parallel_runs, last_complete_date())
    except PlanError as error:
        parser.error(f"{args.command}: {error}")
    console.print(
        f"fin_assets {args.command}: {start} → {end}, {len(symbols)} symbols, "
        f"FIN_HOME={settings.home}"
    )
    for note in plan.notes:
        console.print(f"[yellow]{escape(note)}", soft_wrap=True)
    command = f"fin-assets {args.command}"
    title = f"{command} {start} to {end}, {','.join(symbols)}"[:MAX_TITLE_LENGTH]
    outcome = run_graph(settings, command, plan, title)
    ok = print_summary(settings, outcome)
    if ok:
        console.print("[green]all runs succeeded and no ERROR-severity check failed")
    else:
        console.print("[red]a run or an ERROR-severity check failed (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
