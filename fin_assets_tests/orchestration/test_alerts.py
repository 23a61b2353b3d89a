"""The run-failure sensor posts a JSON alert to a real HTTP server on 127.0.0.1."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    RunFailureSensorContext,
    build_run_status_sensor_context,
)

from fin_assets.definitions import build_definitions
from fin_assets.defs.operations.alerts import ALERT_WEBHOOK_ENV, run_failure_alert
from fin_assets.instance import open_instance
from fin_assets.settings import Settings

PARTITION = "2025-03-03|AAPL"


class Webhook:
    """A local webhook: records each POST's path and JSON body; answers `status`."""

    def __init__(self, status: int = 204) -> None:
        self.received: list[tuple[str, dict]] = []
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                webhook.received.append((self.path, json.loads(body)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/fin"

    def __enter__(self) -> "Webhook":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def failed_run(fin_settings: Settings) -> Iterator[tuple[DagsterInstance, DagsterRun]]:
    """A real failure: intraday bars of a partition whose raw quotes were never fetched."""
    instance = open_instance(fin_settings)
    job = build_definitions(fin_settings).resolve_job_def("symbol_history_job")
    result = job.execute_in_process(
        instance=instance,
        partition_key=PARTITION,
        asset_selection=[AssetKey("intraday_bars")],
        raise_on_error=False,
    )
    assert not result.success
    yield instance, result.dagster_run
    instance.dispose()


def failure_context(instance: DagsterInstance, run: DagsterRun) -> RunFailureSensorContext:
    (record,) = instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.RUN_FAILURE
    ).records
    context = build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_event=record.event_log_entry.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
    )
    return context.for_run_failure()


def test_a_failed_run_posts_its_partition_and_step_error(
    failed_run, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance, run = failed_run
    with Webhook() as webhook:
        monkeypatch.setenv(ALERT_WEBHOOK_ENV, webhook.url)
        run_failure_alert(failure_context(instance, run))
    ((path, alert),) = webhook.received
    assert path == "/hooks/fin"
    assert alert["event"] == "run_failure"
    assert alert["run_id"] == run.run_id
    assert alert["job_name"] == "symbol_history_job"
    assert alert["partition"] == PARTITION
    assert alert["message"] == (
        "Execution of run for \"symbol_history_job\" failed. Steps failed: ['intraday_bars']."
    )
    ((step),) = alert["failed_steps"]
    assert step["step_key"] == "intraday_bars"
    assert "no raw payload for AAPL on 2025-03-03" in step["error"]


def test_a_webhook_error_fails_the_evaluation(failed_run, monkeypatch) -> None:
    instance, run = failed_run
    with Webhook(status=500) as webhook:
        monkeypatch.setenv(ALERT_WEBHOOK_ENV, webhook.url)
        with pytest.raises(requests.HTTPError, match="500"):
            run_failure_alert(failure_context(instance, run))
    assert len(webhook.received) == 1


def test_without_a_webhook_url_the_evaluation_names_the_variable(failed_run, monkeypatch) -> None:
    instance, run = failed_run
    monkeypatch.delenv(ALERT_WEBHOOK_ENV, raising=False)
    with pytest.raises(RuntimeError, match=ALERT_WEBHOOK_ENV):
        run_failure_alert(failure_context(instance, run))
