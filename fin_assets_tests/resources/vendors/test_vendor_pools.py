"""raw_quotes calls each vendor in a step of that vendor's own Dagster concurrency pool.

The real run: SPY (Yahoo) and BTC (CoinGecko) on 2025-02-03 in one run, on an instance with
the project's pool settings (fin_assets.instance) over Postgres, while another run holds the
only slot of the CoinGecko pool: the Yahoo step runs and CoinGecko's step waits, without a
call, until that slot is freed.
"""

import threading
import time
import uuid
from pathlib import Path

from dagster import (
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    Definitions,
    define_asset_job,
)
from pytest_httpserver import HTTPServer

from fin_assets.defs.common.partition_ranges import range_tags
from fin_assets.instance import instance_config
from fin_assets.resources.market_data import SyntheticMarketSource
from fin_assets.resources.storage import LakeResource
from fin_assets.resources.vendors.routing import VendorMarketSource
from fin_assets.settings import Settings
from fin_assets.universe import load_universe
from fin_assets_tests.graph import asset_def
from fin_assets_tests.resources.vendors.conftest import (
    data_requests,
    serve_yahoo_empty_day,
    vendor_source,
)

UNIVERSE = {s.symbol: s for s in load_universe()}
COINGECKO_STEP = "raw_quotes.fetch_coingecko"
YAHOO_STEP = "raw_quotes.fetch_yahoo"
EMPTY_CHART = b'{"prices":[],"market_caps":[],"total_volumes":[]}'


def test_each_fetch_step_takes_its_vendor_pool() -> None:
    pools = {op_def.name: op_def.pool for op_def in asset_def("raw_quotes").node_def.node_defs}
    assert pools == {
        "fetch_alpha_vantage": "vendor_alpha_vantage",
        "fetch_coingecko": "vendor_coingecko",
        "fetch_yahoo": "vendor_yahoo",
        "fetch_offline": "vendor_offline",
        "collect_raw_quotes": None,
    }


def test_sources_route_each_symbol_to_a_pool() -> None:
    yahoo_equities = VendorMarketSource(equity_vendor="yahoo")
    assert yahoo_equities.pool_for(UNIVERSE["SPY"]) == "vendor_yahoo"
    assert yahoo_equities.pool_for(UNIVERSE["BTC"]) == "vendor_coingecko"
    assert VendorMarketSource().pool_for(UNIVERSE["AAPL"]) == "vendor_alpha_vantage"
    assert VendorMarketSource(crypto_vendor="yahoo").pool_for(UNIVERSE["ETH"]) == "vendor_yahoo"
    # Replays and the synthetic market call no vendor.
    assert VendorMarketSource(mode="replay").pool_for(UNIVERSE["AAPL"]) == "vendor_offline"
    assert SyntheticMarketSource().pool_for(UNIVERSE["BTC"]) == "vendor_offline"


def _step_events(instance: DagsterInstance, run_id: str) -> list[DagsterEvent]:
    return [e.dagster_event for e in instance.all_logs(run_id) if e.dagster_event is not None]


def test_a_busy_vendor_pool_holds_only_that_vendors_step(
    httpserver: HTTPServer, tmp_path: Path, fin_settings: Settings
) -> None:
    serve_yahoo_empty_day(httpserver, "SPY")
    httpserver.expect_request(
        "/coins/bitcoin/market_chart/range",
        query_string={"vs_currency": "usd", "from": "1738540800", "to": "1738627199"},
    ).respond_with_data(EMPTY_CHART, content_type="application/json")
    (tmp_path / "dagster").mkdir()
    instance = DagsterInstance.local_temp(
        str(tmp_path / "dagster"), overrides=instance_config(fin_settings)
    )
    storage = instance.event_log_storage
    # The instance gives every pool one slot by default; another (running) run holds CoinGecko's.
    storage.initialize_concurrency_limit_to_default("vendor_coingecko")
    assert storage.get_concurrency_info("vendor_coingecko").slot_count == 1
    other_run = instance.add_run(DagsterRun(job_name="pull", status=DagsterRunStatus.STARTED))
    assert storage.claim_concurrency_slot(
        "vendor_coingecko", other_run.run_id, COINGECKO_STEP
    ).is_claimed

    run_id = str(uuid.uuid4())
    while_blocked: dict[str, object] = {}

    def free_the_slot_once_blocked() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            events = _step_events(instance, run_id)
            blocked = [
                e
                for e in events
                if e.event_type == DagsterEventType.ENGINE_EVENT and e.step_key == COINGECKO_STEP
            ]
            yahoo_done = any(e.is_step_success and e.step_key == YAHOO_STEP for e in events)
            if blocked and yahoo_done:
                while_blocked["message"] = blocked[0].message
                while_blocked["pool"] = blocked[0].engine_event_data.metadata["pool"].value
                while_blocked["coingecko_started"] = any(
                    e.is_step_start and e.step_key == COINGECKO_STEP for e in events
                )
                while_blocked["requests"] = data_requests(httpserver)
                break
            time.sleep(0.2)
        storage.free_concurrency_slot_for_step(other_run.run_id, COINGECKO_STEP)

    releaser = threading.Thread(target=free_the_slot_once_blocked)
    releaser.start()
    defs = Definitions(
        assets=[asset_def("raw_quotes")],
        jobs=[define_asset_job("pull", selection=["raw_quotes"])],
        resources={
            "market_data": vendor_source(httpserver, equity_vendor="yahoo"),
            "lake": LakeResource(root=str(tmp_path / "lake")),
        },
    )
    result = defs.resolve_job_def("pull").execute_in_process(
        instance=instance,
        run_id=run_id,
        tags=range_tags("2025-02-03|SPY", "2025-02-03|BTC"),
        raise_on_error=False,
    )
    releaser.join()

    assert while_blocked == {
        "message": "Step blocked by limit for pool vendor_coingecko",
        "pool": "vendor_coingecko",
        "coingecko_started": False,
        "requests": ["/v8/finance/chart/SPY"],
    }
    assert result.success
    assert data_requests(httpserver) == [
        "/v8/finance/chart/SPY",
        "/coins/bitcoin/market_chart/range",
    ]
    materializations = result.asset_materializations_for_node("raw_quotes")
    assert {m.partition for m in materializations} == {"2025-02-03|SPY", "2025-02-03|BTC"}
    metadata = {key: value.value for key, value in materializations[0].metadata.items()}
    assert metadata["vendors"] == {"SPY": "yahoo", "BTC": "coingecko"}
    assert metadata["payloads_stored"] == 2 and metadata["partitions"] == 2
    assert metadata["no_data"] == ["SPY|2025-02-03", "BTC|2025-02-03"]
    assert [entry["vendor"] for entry in metadata["lineage"]] == ["yahoo", "coingecko"]
    # CoinGecko publishes no per-bar volume: BTC's bars carry volume 0 meaning "unknown".
    assert metadata["volume_unavailable"] == ["BTC"]
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    check = checks["payload_present"]
    assert check.passed
    assert check.metadata["checked_rows"].value == 2
    # Every vendor step released its slot: no pool holds a claim of this run.
    for pool in ("vendor_alpha_vantage", "vendor_coingecko", "vendor_yahoo", "vendor_offline"):
        info = storage.get_concurrency_info(pool)
        assert (info.slot_count, info.active_slot_count) == (1, 0), pool
