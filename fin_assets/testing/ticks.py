"""The landing sensor and declarative automation ticked in this process, their runs executed.

What `dagster-daemon` does, without its processes: `landing_sensor` is evaluated with its
cursor and its run requests executed as `landing_job` runs; the automation conditions are
evaluated with Dagster's `evaluate_automation_conditions` (the evaluator the `fin_automation`
sensor runs), each tick carrying the previous tick's cursor, and the requested partitions
materialized, one run per partition key (what the sensor's backfills do with
BackfillPolicy.single_run on a date × symbol subset of one date). Runs execute one at a time.
`run_history` materializes the history before a streamed day the normal way (reference_job,
then symbol_history_job over a date range per symbol). Used by the streaming end-to-end test
and benchmarks/streaming.py.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    EvaluateAutomationConditionsResult,
    ExecuteInProcessResult,
    SensorResult,
    build_sensor_context,
    evaluate_automation_conditions,
)

from fin_assets.defs.common.partition_ranges import range_tags
from fin_assets.defs.ingest.landing import landing_sensor

Requests = dict[str, set[str]]
"""Requested partition keys per asset name."""

MAX_TICKS = 8


def requests_of(result: EvaluateAutomationConditionsResult) -> Requests:
    """The partitions an automation evaluation requested, per asset name."""
    return {
        r.key.to_user_string(): {str(k) for k in result.get_requested_partitions(r.key)}
        for r in result.results
        if r.true_subset.size
    }


@dataclass
class InProcessTicks:
    """Sensor and automation ticks on `instance` for the code location `defs`.

    `on_run` sees every executed run's result (e.g. to time materializations).
    """

    defs: Definitions
    instance: DagsterInstance
    on_run: Callable[[ExecuteInProcessResult], None] = lambda result: None
    landing_cursor: str | None = None
    automation: EvaluateAutomationConditionsResult | None = None
    runs: list[ExecuteInProcessResult] = field(default_factory=list)

    def _record(self, result: ExecuteInProcessResult) -> None:
        assert result.success, f"run {result.run_id} of {result.job_def.name} failed"
        self.runs.append(result)
        self.on_run(result)

    def landing_tick(self) -> int:
        """Tick the landing sensor and execute its runs; how many it requested."""
        resources = {"lake": self.defs.resources["lake"]}
        context = build_sensor_context(
            instance=self.instance, resources=resources, cursor=self.landing_cursor
        )
        tick = landing_sensor(context)
        assert isinstance(tick, SensorResult)
        self.landing_cursor = tick.cursor
        job = self.defs.resolve_job_def("landing_job")
        for request in tick.run_requests:
            self._record(
                job.execute_in_process(
                    run_config=request.run_config, tags=request.tags, instance=self.instance
                )
            )
        return len(tick.run_requests)

    def automation_tick(self) -> Requests:
        """Evaluate the automation conditions once and materialize what they request."""
        cursor = self.automation.cursor if self.automation else None
        self.automation = evaluate_automation_conditions(self.defs, self.instance, cursor=cursor)
        requests = requests_of(self.automation)
        by_partition: dict[str, set[str]] = {}
        for asset, keys in requests.items():
            for key in keys:
                by_partition.setdefault(key, set()).add(asset)
        for key, assets in sorted(by_partition.items()):
            selection = [AssetKey(asset) for asset in sorted(assets)]
            job = self.defs.resolve_implicit_job_def_def_for_assets(selection)
            self._record(
                job.execute_in_process(
                    instance=self.instance, partition_key=key, asset_selection=selection
                )
            )
        return requests

    def automate_until_quiet(self) -> list[Requests]:
        """Automation ticks until one requests nothing; the requests of the others."""
        ticks = []
        for _ in range(MAX_TICKS):
            requests = self.automation_tick()
            if not requests:
                return ticks
            ticks.append(requests)
        raise AssertionError(f"automation still requesting after {MAX_TICKS} ticks: {ticks}")


def run_history(
    defs: Definitions, instance: DagsterInstance, symbols: Sequence[str], start: date, end: date
) -> None:
    """reference_job, then one symbol_history_job run over [start, end] for each symbol."""
    assert defs.resolve_job_def("reference_job").execute_in_process(instance=instance).success
    job = defs.resolve_job_def("symbol_history_job")
    for symbol in symbols:
        tags = range_tags(f"{start}|{symbol}", f"{end}|{symbol}")
        assert job.execute_in_process(instance=instance, tags=tags).success
