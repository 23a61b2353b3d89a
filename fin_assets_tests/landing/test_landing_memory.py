"""Hostile landing files take bounded memory in the sensor (the code server's process)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fin_assets.resources.lake import ParquetLake


def write_hostile_files(landing: Path) -> dict[str, int]:
    """The issue's files: a 20M-row Parquet of ~0.5 MB, a 50 MB CSV, and a 30 MB JSON array of
    numbers (within the byte limit, 15M values); their sizes by key."""
    landing.mkdir(parents=True)
    rows = 1_000_000
    chunk = pa.table(
        {
            "ts": pa.array(np.full(rows, 1_735_828_200_000, dtype=np.int64)),
            **{c: pa.array(np.ones(rows)) for c in ("open", "high", "low", "close", "volume")},
        }
    )
    with pq.ParquetWriter(landing / "rows.parquet", chunk.schema, compression="zstd") as writer:
        for _ in range(20):
            writer.write_table(chunk)
    line = b"2025-01-02T14:30:00+00:00,1.0,1.0,1.0,1.0,1.0\n"
    (landing / "bytes.csv").write_bytes(b"ts,open,high,low,close,volume\n" + line * 1_063_830)
    (landing / "values.json").write_bytes(b"[" + b"1," * 15_000_000 + b"1]")
    return {f"landing/AAPL/2025-01-02/{p.name}": p.stat().st_size for p in landing.iterdir()}


# Runs one sensor tick over the lake in a fresh interpreter: its peak RSS (VmHWM) after the
# imports and after the tick, in MiB. The address space is capped (RLIMIT_AS) at 1.5 GiB over
# what the imports mapped, so a tick decoding the files fails instead of taking the machine's RAM.
TICK = textwrap.dedent(
    """
    import json, resource, sys
    from dagster import DagsterInstance, build_sensor_context
    from fin_assets.defs.ingest.landing import landing_sensor
    from fin_assets.resources.storage import LakeResource

    def status(field):
        line = open("/proc/self/status").read().split(field + ":")[1]
        return int(line.split()[0]) * 1024

    baseline = status("VmHWM")
    cap = status("VmSize") + int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    context = build_sensor_context(
        resources={"lake": LakeResource(root=sys.argv[1])}, instance=DagsterInstance.ephemeral()
    )
    result = landing_sensor(context)
    print(json.dumps({"baseline": baseline, "peak": status("VmHWM"), "cursor": result.cursor}))
    """
)


@pytest.mark.slow
def test_hostile_files_are_rejected_within_a_bounded_memory(tmp_path: Path) -> None:
    sizes = write_hostile_files(tmp_path / "landing/AAPL/2025-01-02")
    headroom = 1536 * 2**20

    child = subprocess.run(
        [sys.executable, "-c", TICK, str(tmp_path), str(headroom)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert child.returncode == 0, child.stderr[-3000:]
    measured = json.loads(child.stdout.splitlines()[-1])
    grown_mib = (measured["peak"] - measured["baseline"]) / 2**20
    # The bound: the bytes of one file within the byte limit, twice (read buffer and bytes),
    # plus 64 MiB. Measured: 86 MiB (on main: killed by the 1.5 GiB cap; 3.7 GB uncapped).
    assert grown_mib < 2 * 32 + 64, f"the tick took {grown_mib:.0f} MiB over the imports"
    lake = ParquetLake(str(tmp_path))
    reports = {
        key: json.loads(lake.get_object(k))["problems"]
        for key in sizes
        for k in lake.list_objects(f"quarantine/{key}")
        if k.endswith(".error.json")
    }
    assert reports == {
        "landing/AAPL/2025-01-02/rows.parquet": [
            "the file holds 20,000,000 rows, more than the limit of 200,000 (FIN_LANDING_MAX_ROWS)"
        ],
        "landing/AAPL/2025-01-02/bytes.csv": [
            f"the file is {sizes['landing/AAPL/2025-01-02/bytes.csv']:,} bytes, more than the "
            "limit of 33,554,432 (FIN_LANDING_MAX_BYTES)"
        ],
        "landing/AAPL/2025-01-02/values.json": [
            "the file holds up to 2,500,000 rows, more than the limit of 200,000 "
            "(FIN_LANDING_MAX_ROWS)"
        ],
    }
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 2**20  # KiB: under 1 GiB
