"""A backfill SIGKILLed inside a warehouse step does not block the next one (issue 16 item 7).

The dead run held the `duckdb_warehouse` pool slot; the next backfill hung with no output. Here a
real `fin-assets backfill` (a subprocess on a fresh FIN_HOME) is killed with its whole process
tree while a warehouse step holds the slot; the same backfill run again completes within a
bounded time (a time limit, not a speed assertion) with exactly one row per key in every
warehouse table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from dagster._core.storage.event_log.base import EventLogStorage
from dagster._utils.concurrency import ClaimedSlotInfo

from fin_assets.defs.warehouse.assets import WAREHOUSE_POOL
from fin_assets.instance import open_instance
from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.settings import Settings
from fin_assets.warehouse.model import TABLES

BACKFILL = ["backfill", "--start", "2025-01-01", "--end", "2025-02-28", "--symbols", "AAPL,MSFT"]
# The re-run must end within this limit (it hung forever before the pool-claim repair).
RERUN_LIMIT_SECONDS = 300
START_LIMIT_SECONDS = 600


def fin_assets_command(settings: Settings) -> tuple[list[str], dict[str, str]]:
    command = [str(Path(sys.executable).parent / "fin-assets"), *BACKFILL]
    return command, {**os.environ, **settings.environment()}


def signal_tree(root: psutil.Process, signum: int) -> list[psutil.Process]:
    """Send `signum` to `root` and every descendant, repeated until no new descendant appears;
    the processes it reached."""
    reached: dict[int, psutil.Process] = {}
    while True:
        try:
            tree = [*root.children(recursive=True), root]
        except psutil.NoSuchProcess:
            return list(reached.values())
        fresh = [process for process in tree if process.pid not in reached]
        if not fresh:
            return list(reached.values())
        for process in fresh:
            try:
                process.send_signal(signum)
                reached[process.pid] = process
            except psutil.NoSuchProcess:
                continue


def kill_tree(root: psutil.Process) -> None:
    """SIGKILL `root` and every descendant and wait until they are gone."""
    psutil.wait_procs(signal_tree(root, signal.SIGKILL), timeout=10)


def warehouse_fact_holders(storage: EventLogStorage) -> list[ClaimedSlotInfo]:
    return [
        slot
        for slot in storage.get_concurrency_info(WAREHOUSE_POOL).claimed_slots
        if slot.step_key.startswith("fact_")
    ]


def kill_while_a_fact_step_holds_the_slot(
    backfill: subprocess.Popen[bytes], storage: EventLogStorage
) -> ClaimedSlotInfo:
    """SIGKILL the backfill's process tree while one of its fact steps holds the warehouse slot.

    A step seen holding the slot may release it before a kill arrives, so the tree is frozen
    (SIGSTOP) first and the hold read again: it is killed only if the frozen step still holds it,
    otherwise it resumes and the wait goes on.
    """
    root = psutil.Process(backfill.pid)
    deadline = time.monotonic() + START_LIMIT_SECONDS
    try:
        while True:
            assert backfill.poll() is None, "the backfill ended before a warehouse step held it"
            assert time.monotonic() < deadline, "no warehouse step claimed the pool in time"
            if warehouse_fact_holders(storage):
                frozen = signal_tree(root, signal.SIGSTOP)
                holders = warehouse_fact_holders(storage)
                if holders:
                    return holders[0]
                for process in frozen:
                    try:
                        process.send_signal(signal.SIGCONT)
                    except psutil.NoSuchProcess:
                        continue
            time.sleep(0.2)
    finally:
        kill_tree(root)
        backfill.wait()


@pytest.mark.slow
def test_a_backfill_killed_in_a_warehouse_step_does_not_block_the_next(
    fin_settings: Settings,
) -> None:
    instance = open_instance(fin_settings)
    storage = instance.event_log_storage
    command, environment = fin_assets_command(fin_settings)
    first = subprocess.Popen(
        command,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    holder = kill_while_a_fact_step_holds_the_slot(first, storage)
    killed_run_id = holder.run_id
    print(f"killed in {holder.step_key} of run {killed_run_id}")
    assert any(
        slot.run_id == killed_run_id
        for slot in storage.get_concurrency_info(WAREHOUSE_POOL).claimed_slots
    ), "the dead run holds the slot"

    second = subprocess.Popen(
        command,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = second.communicate(timeout=RERUN_LIMIT_SECONDS)
    except subprocess.TimeoutExpired:
        kill_tree(psutil.Process(second.pid))
        output, _ = second.communicate()
        pytest.fail(f"the re-run did not end within {RERUN_LIMIT_SECONDS} s:\n{output}")

    print(output)
    assert second.returncode == 0, output
    assert instance.get_run_by_id(killed_run_id).is_finished
    assert storage.get_concurrency_info(WAREHOUSE_POOL).claimed_slots == []
    warehouse = DuckDBWarehouse(str(fin_settings.warehouse_path))
    for table, spec in TABLES.items():
        keys = ", ".join(spec.key)
        found = warehouse.query(
            f"SELECT count(*) AS n, count(DISTINCT ({keys})) AS distinct_keys FROM {table}"
        )
        assert found["n"].item() == found["distinct_keys"].item(), table
    facts = warehouse.row_counts()
    assert facts["fact_daily_bar"] > 0 and facts["fact_risk"] == facts["fact_daily_bar"]
