"""Run-failure alerts: a JSON POST to the webhook named by FIN_ALERT_WEBHOOK_URL.

The body (`failure_alert`) names the run, its job, its partition or partition range, the run's
failure message and each failed step with its error, so the receiver (a Slack or PagerDuty
relay, an incident bot) can act without opening Dagster. The sensor runs by default when the
variable is set when the definitions are built (`run_failure_alert_sensor`); started without
it, every evaluation fails with an error naming the variable. A webhook that does not answer
2xx fails the evaluation, which Dagster shows on the sensor's tick.
"""

from datetime import UTC, datetime
from typing import Any

import requests
from dagster import (
    DagsterRun,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusSensorDefinition,
    run_failure_sensor,
)
from dagster._utils.error import SerializableErrorInfo

from fin_assets.defs.common.partition_ranges import RANGE_END_TAG, RANGE_START_TAG
from fin_assets.settings import environ

ALERT_WEBHOOK_ENV = "FIN_ALERT_WEBHOOK_URL"
TIMEOUT_SECONDS = 10.0


def failure_alert(
    run: DagsterRun, message: str, failed_steps: list[tuple[str, str]]
) -> dict[str, Any]:
    """The alert of a failed run: run, job, partitions, failure message, failed steps."""
    return {
        "event": "run_failure",
        "run_id": run.run_id,
        "job_name": run.job_name,
        "partition": run.tags.get("dagster/partition"),
        "partition_range": [run.tags.get(RANGE_START_TAG), run.tags.get(RANGE_END_TAG)],
        "backfill_id": run.tags.get("dagster/backfill"),
        "message": message,
        "failed_steps": [{"step_key": step, "error": error} for step, error in failed_steps],
        "sent_at": datetime.now(UTC).isoformat(),
    }


def post_alert(url: str, alert: dict[str, Any]) -> None:
    """POST `alert` as JSON; raises requests.HTTPError unless the webhook answers 2xx."""
    response = requests.post(url, json=alert, timeout=TIMEOUT_SECONDS)
    response.raise_for_status()


def root_cause(error: SerializableErrorInfo) -> str:
    """The innermost error's message: the user code's own error, not Dagster's wrapper."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def webhook_url() -> str:
    url = environ().get(ALERT_WEBHOOK_ENV)
    if not url:
        raise RuntimeError(f"{ALERT_WEBHOOK_ENV} is not set: no webhook to send run alerts to")
    return url


def run_failure_alert(context: RunFailureSensorContext) -> None:
    """POST the alert of the failed run of `context` to the webhook."""
    failed_steps = [
        (str(event.step_key), root_cause(event.step_failure_data.error))
        for event in context.get_step_failure_events()
        if event.step_failure_data is not None and event.step_failure_data.error is not None
    ]
    alert = failure_alert(context.dagster_run, context.failure_event.message or "", failed_steps)
    post_alert(webhook_url(), alert)
    context.log.info(f"run failure alert for {context.dagster_run.run_id} sent")


def run_failure_alert_sensor() -> RunStatusSensorDefinition:
    """The sensor of the alerts: running by default when the webhook variable is set now (when
    the definitions are built)."""
    return run_failure_sensor(
        name="run_failure_alert",
        monitor_all_code_locations=True,
        default_status=(
            DefaultSensorStatus.RUNNING
            if environ().get(ALERT_WEBHOOK_ENV)
            else DefaultSensorStatus.STOPPED
        ),
        description=f"POSTs a JSON alert for every failed run to ${ALERT_WEBHOOK_ENV}.",
    )(run_failure_alert)
