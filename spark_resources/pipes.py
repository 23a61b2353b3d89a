"""Dagster Pipes for the Spark entry points: how they report back to the orchestrator.

Locally (PipesSubprocessClient) messages go to the file Dagster names; on EMR and EMR Serverless
the orchestrator's PipesS3MessageReader names a bucket, and messages are written there. Run
outside Dagster (a plain spark-submit, the benchmark), `open_dagster_pipes` gives a no-op context.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from dagster_pipes import (
    DAGSTER_PIPES_MESSAGES_ENV_VAR,
    PipesContext,
    PipesDefaultMessageWriter,
    PipesEnvVarParamsLoader,
    PipesMessageWriter,
    PipesS3MessageWriter,
    decode_param,
    open_dagster_pipes,
)

from fin_assets.shared.lake_io import PARTITION_ROWS
from spark_resources.lake_frames import CheckTotals, WrittenDataset

# Seconds between two uploads of buffered messages to S3 (the reader polls at its own pace).
S3_UPLOAD_INTERVAL = 5.0


def _message_writer() -> PipesMessageWriter:
    """S3 writer when the orchestrator asked for a bucket, else Dagster's default writer."""
    loader = PipesEnvVarParamsLoader()
    if loader.is_dagster_pipes_process():
        params = decode_param(os.environ[DAGSTER_PIPES_MESSAGES_ENV_VAR])
        if "bucket" in params:
            return PipesS3MessageWriter(boto3.client("s3"), interval=S3_UPLOAD_INTERVAL)
    return PipesDefaultMessageWriter()


def open_job_pipes() -> PipesContext:
    """The Pipes context of this Spark job (use it as a context manager)."""
    return open_dagster_pipes(message_writer=_message_writer())


def check_metadata(totals: CheckTotals) -> dict[str, Any]:
    """Metadata of a check result, as fin_assets.defs.common.checks.check_result names it."""
    return {
        "checked_rows": {"raw_value": totals.checked_rows, "type": "int"},
        "failed_rows": {"raw_value": totals.failed_rows, "type": "int"},
        "detail": {"raw_value": totals.detail, "type": "text"},
    }


def report_written(
    pipes: PipesContext,
    written: WrittenDataset,
    extra_metadata: dict[str, Any] | None = None,
    severities: dict[str, str] | None = None,
    partitioned: bool = True,
) -> None:
    """Report a dataset's materialization (row count, partitions) and its checks' results.

    A partitioned dataset's rows are the run's total, `rows_in_run` (Dagster copies a range
    run's metadata onto every partition, where `dagster/row_count` would be wrong), and each
    partition's rows go as the JSON entry PARTITION_ROWS, which the orchestrator turns into
    each partition's own `dagster/row_count` (fin_assets.defs.common.partition_metadata); an
    unpartitioned one's are its `dagster/row_count`.
    """
    rows_key = "rows_in_run" if partitioned else "dagster/row_count"
    per_partition = (
        {PARTITION_ROWS: {"raw_value": dict(written.by_partition), "type": "json"}}
        if partitioned and written.by_partition
        else {}
    )
    pipes.report_asset_materialization(
        asset_key=written.dataset,
        metadata={
            rows_key: {"raw_value": written.rows, "type": "int"},
            "partitions": {"raw_value": written.partitions, "type": "int"},
            "engine": {"raw_value": "spark", "type": "text"},
            **per_partition,
            **(extra_metadata or {}),
        },
    )
    for totals in written.checks:
        pipes.report_asset_check(
            asset_key=written.dataset,
            check_name=totals.check,
            passed=totals.passed,
            severity=(severities or {}).get(totals.check, "ERROR"),
            metadata=check_metadata(totals),
        )
