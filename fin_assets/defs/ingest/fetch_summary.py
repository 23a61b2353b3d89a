"""What one raw_quotes fetch step did, and the IO manager handing it to the collecting step.

raw_quotes is a graph (fin_assets.defs.ingest.raw_quotes): one fetch step per vendor pool, then one
step that sums their FetchSummary values into the asset's materialization and its check. Steps may
run in different processes or pods (FIN_EXECUTOR=k8s), so the summaries travel through the lake
every step already shares: `run_outputs/{run_id}/{step key}/{output}.json`, one small JSON
object per fetch step and run (a re-execution reads the parent run's objects). They are run
bookkeeping, not data: nothing reads them after their run, and they may be deleted.
"""

import json
from dataclasses import asdict, dataclass, field

from dagster import InitResourceContext, InputContext, IOManager, OutputContext, io_manager

from fin_assets.resources.lake import ParquetLake

RUN_OUTPUTS_PREFIX = "run_outputs"
FETCH_SUMMARY_IO_MANAGER = "fetch_summary_io_manager"


@dataclass(frozen=True)
class FetchSummary:
    """Counts and evidence of one fetch step over its symbols × the run's dates.

    `vendors` maps each symbol of the step to the vendor whose raw folder holds its payloads;
    `missing` lists [symbol, trade_date] session partitions left without a payload; `lineage`
    has one entry per payload fetched (RawPayload.lineage() plus symbol and trade_date);
    `no_data` lists "symbol|trade_date" sessions the vendor answered without bars.
    """

    vendors: dict[str, str] = field(default_factory=dict)
    stored: int = 0
    unchanged: int = 0
    reused: int = 0
    no_session: int = 0
    payload_bytes: int = 0
    missing: list[list[str]] = field(default_factory=list)
    lineage: list[dict[str, object]] = field(default_factory=list)
    no_data: list[str] = field(default_factory=list)


class LakeJsonSummaryIOManager(IOManager):
    """Stores FetchSummary outputs as JSON objects under RUN_OUTPUTS_PREFIX in the lake."""

    def __init__(self, lake: ParquetLake) -> None:
        self.lake = lake

    @staticmethod
    def _key(context: OutputContext) -> str:
        return "/".join([RUN_OUTPUTS_PREFIX, *context.get_identifier()]) + ".json"

    def handle_output(self, context: OutputContext, obj: FetchSummary) -> None:
        # A retried step writes again under the same key: the last attempt's summary wins.
        self.lake.replace_object(self._key(context), json.dumps(asdict(obj)).encode())

    def load_input(self, context: InputContext) -> FetchSummary:
        return FetchSummary(**json.loads(self.lake.get_object(self._key(context.upstream_output))))


@io_manager(required_resource_keys={"lake"})
def fetch_summary_io_manager(init_context: InitResourceContext) -> LakeJsonSummaryIOManager:
    """The IO manager of the fetch steps' outputs, over the run's `lake` resource."""
    return LakeJsonSummaryIOManager(init_context.resources.lake.get_lake())
