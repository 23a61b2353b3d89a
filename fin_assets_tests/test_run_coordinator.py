"""The instance's run coordinator (fin_assets.run_coordinator): runs tagged to launch at once
skip Dagster's run queue, the others wait in it for the daemon — on a real instance, code server
and run launcher."""

from dataclasses import replace

import pytest
from dagster import DagsterEventType, DagsterRunStatus

from fin_assets.code_location import create_run, loaded_code_location
from fin_assets.instance import open_instance
from fin_assets.run_coordinator import LAUNCH_AT_ONCE_TAG, AtOnceOrQueuedRunCoordinator
from fin_assets.runner import SILENT_RUN_CONFIG
from fin_assets.settings import Settings
from fin_assets.testing.daemon import wait_for_run


def test_a_run_tagged_launch_at_once_skips_the_queue_and_the_others_wait_in_it(
    fin_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = replace(fin_settings, run_launcher="fork")
    for name, value in settings.environment().items():  # the code and fork servers' FIN_*
        monkeypatch.setenv(name, value)
    instance = open_instance(settings)
    assert isinstance(instance.run_coordinator, AtOnceOrQueuedRunCoordinator)
    with loaded_code_location(instance) as process_context:
        workspace = process_context.create_request_context()
        at_once = create_run(
            workspace, "reference_job", {LAUNCH_AT_ONCE_TAG: "true"}, SILENT_RUN_CONFIG
        )
        queued = create_run(workspace, "reference_job", {}, SILENT_RUN_CONFIG)

        assert instance.submit_run(at_once.run_id, workspace).status == DagsterRunStatus.STARTING
        assert instance.submit_run(queued.run_id, workspace).status == DagsterRunStatus.QUEUED

        run = wait_for_run(instance, at_once.run_id, lambda r: r.is_finished)
    assert run.status == DagsterRunStatus.SUCCESS
    events = {
        record.event_log_entry.dagster_event_type
        for record in instance.get_records_for_run(at_once.run_id).records
    }
    assert DagsterEventType.RUN_ENQUEUED not in events
    assert DagsterEventType.RUN_STARTING in events
    # No daemon runs here: the queued run is still waiting for it.
    assert instance.get_run_by_id(queued.run_id).status == DagsterRunStatus.QUEUED
