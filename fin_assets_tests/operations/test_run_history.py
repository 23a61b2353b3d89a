"""RunHistory: every run of a real instance, kept between scrapes and read incrementally."""

from dagster import DagsterInstance, DagsterRunStatus, asset, materialize

from fin_assets.operations.sources import RunHistory


@asset
def bars() -> None:
    """A run to observe."""


def statuses(history: RunHistory) -> dict[str, str]:
    return {run.run_id: run.observation.status for run in history()}


def test_new_and_changed_runs_are_read_after_the_first_full_read() -> None:
    instance = DagsterInstance.ephemeral()
    history = RunHistory(instance, full_interval_seconds=3600.0)
    assert history() == []
    first = materialize([bars], instance=instance).run_id
    assert statuses(history) == {first: "SUCCESS"}
    second = materialize([bars], instance=instance).run_id
    assert statuses(history) == {first: "SUCCESS", second: "SUCCESS"}
    (entry,) = [run for run in history() if run.run_id == second]
    record = instance.get_run_record_by_id(second)
    assert (entry.observation.start, entry.observation.end) == (record.start_time, record.end_time)
    assert entry.observation.job == "__ephemeral_asset_job__"


def test_a_status_change_is_read_and_a_deleted_run_leaves_at_the_next_full_read() -> None:
    instance = DagsterInstance.ephemeral()
    history = RunHistory(instance, full_interval_seconds=3600.0)
    run_id = materialize([bars], instance=instance).run_id
    other = materialize([bars], instance=instance).run_id
    assert statuses(history) == {run_id: "SUCCESS", other: "SUCCESS"}
    instance.report_run_failed(instance.get_run_by_id(other))
    assert statuses(history)[other] == DagsterRunStatus.FAILURE.value
    instance.delete_run(run_id)
    assert run_id in statuses(history)  # kept until the next full read
    history.full_interval_seconds = 0.0
    assert statuses(history) == {other: "FAILURE"}
