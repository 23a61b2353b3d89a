"""`fin-assets dev` as a user meets it.

Through the GraphQL API the UI queries: each asset's columns, table or lake location, owners,
code version and active kind, each partition's own row count, and a report link that opens. In
headless Chromium: the asset graph, a partition's view and a check's execution history, with
screenshots in test-artifacts/. The command logs no sensor tick and stops within 30 s of
SIGTERM even when started as a background job (SIGINT ignored)."""

from __future__ import annotations

import re
import signal
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import exchange_calendars as xcals
import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from fin_assets.analytics.schemas import DAILY_BARS
from fin_assets.defs.common.partition_metadata import PREVIEW_ROWS
from fin_assets.settings import Settings
from fin_assets.shared.lake_io import calendar_dates
from fin_assets.testing.ports import free_port
from fin_assets.universe import load_universe
from fin_assets.warehouse.model import TABLES
from fin_assets_tests.ui.dev_process import STOP_SECONDS, Dev, running_dev, stop_dev
from fin_assets_tests.ui.home import END, START, SYMBOLS, materialize_home

# One worker runs the module in order: the last test stops the server. Materializing the home
# and starting the UI take about a minute.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dev_ui")]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PAGE_SECONDS = 90
# A line a run logs: "<time> - dagster - INFO - <job> - <run id> - ...".
RUN_LINE = re.compile(r" - INFO - \w+ - [0-9a-f]{8}-[0-9a-f-]{27} - ")
# The automation sensor, evaluated in the code server, logs its asset-record prefetch (two
# lines a tick, Dagster's own logger); no sensor logs a tick without news.
AUTOMATION_PREFETCH_LINE = re.compile(r" - fin_automation - (Prefetching|Done prefetching) asset")

ASSET_NODES = """
query AssetNodes($keys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $keys) {
    assetKey { path }
    opVersion
    kinds
    owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    metadataEntries {
      label
      ... on TableSchemaMetadataEntry {
        schema { columns { name type constraints { nullable } } }
      }
      ... on TextMetadataEntry { text }
    }
  }
}
"""
MATERIALIZATIONS = """
query Materializations($key: AssetKeyInput!, $partitions: [String!]) {
  assetOrError(assetKey: $key) {
    ... on Asset {
      assetMaterializations(partitions: $partitions) {
        partition
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
          ... on UrlMetadataEntry { url }
          ... on MarkdownMetadataEntry { mdStr }
        }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def home(module_fin_settings: Settings) -> Settings:
    """The small home, its reports linked at the port the dev command will serve them on."""
    settings = replace(module_fin_settings, report_url=f"http://127.0.0.1:{free_port()}")
    materialize_home(settings)
    return settings


@pytest.fixture(scope="module")
def dev(home: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    report_port = int(home.report_url.rsplit(":", 1)[1])
    log = tmp_path_factory.mktemp("dev") / "dev.log"
    with running_dev(home, free_port(), report_port, log) as server:
        yield server


def asset_nodes(dev: Dev, *names: str) -> dict[str, dict[str, Any]]:
    keys = [{"path": [name]} for name in names]
    nodes = dev.graphql(ASSET_NODES, {"keys": keys})["assetNodes"]
    return {node["assetKey"]["path"][0]: node for node in nodes}


def entries(node: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["label"]: entry for entry in node["metadataEntries"]}


def materializations(dev: Dev, name: str, partitions: list[str]) -> dict[str, dict[str, Any]]:
    """The latest materialization's metadata entries of each partition, by partition key."""
    answer = dev.graphql(MATERIALIZATIONS, {"key": {"path": [name]}, "partitions": partitions})
    latest: dict[str, dict[str, Any]] = {}
    for event in answer["assetOrError"]["assetMaterializations"]:  # newest first
        latest.setdefault(event["partition"], entries(event))
    return latest


def test_assets_show_columns_location_owners_code_version_and_active_kind(
    dev: Dev, home: Settings
) -> None:
    nodes = asset_nodes(dev, "daily_bars", "fact_daily_bar", "dim_symbol", "stream_landing_status")

    daily = entries(nodes["daily_bars"])
    columns = daily["dagster/column_schema"]["schema"]["columns"]
    assert [(c["name"], c["type"]) for c in columns] == [
        (field.name, str(field.type)) for field in DAILY_BARS
    ]
    assert [c["name"] for c in columns if not c["constraints"]["nullable"]] == [
        "symbol",
        "trade_date",
    ]
    assert daily["dagster/uri"]["text"] == (Path(home.lake_root) / "daily_bars").as_uri()

    fact = entries(nodes["fact_daily_bar"])
    fact_columns = fact["dagster/column_schema"]["schema"]["columns"]
    assert [c["name"] for c in fact_columns] == TABLES["fact_daily_bar"].stored_schema.names
    assert fact["dagster/table_name"]["text"] == "fin_assets.main.fact_daily_bar"

    assert nodes["fact_daily_bar"]["kinds"] == ["duckdb"]
    assert nodes["dim_symbol"]["kinds"] == ["duckdb"]
    assert nodes["stream_landing_status"]["kinds"] == ["kafka"]
    for node in nodes.values():
        assert [owner.get("team") for owner in node["owners"]] != []
        assert re.fullmatch("[0-9a-f]{16}", node["opVersion"]), node
    assert nodes["daily_bars"]["owners"] == [{"team": "market-data"}]
    assert nodes["fact_daily_bar"]["owners"] == [{"team": "data-platform"}]
    # Different code computes the bars and loads the warehouse.
    assert nodes["daily_bars"]["opVersion"] != nodes["fact_daily_bar"]["opVersion"]


def test_each_partition_shows_its_own_row_count(dev: Dev) -> None:
    sessions = set(xcals.get_calendar("XNYS").sessions_in_range(START, END).date)
    dates = calendar_dates(START, END)
    keys = [f"{day}|{symbol}" for day in dates for symbol in SYMBOLS]
    expected_daily = {f"{d}|{s}": int(d in sessions) for d in dates for s in SYMBOLS}
    expected_minutes = {f"{d}|{s}": 390 * int(d in sessions) for d in dates for s in SYMBOLS}

    for name, expected in (
        ("daily_bars", expected_daily),
        ("fact_daily_bar", expected_daily),
        ("intraday_bars", expected_minutes),
    ):
        latest = materializations(dev, name, keys)
        counts = {key: latest[key]["dagster/row_count"]["intValue"] for key in keys}
        assert counts == expected, name
        assert latest[keys[0]]["rows_in_run"]["intValue"] == sum(expected.values())


def test_the_symbol_dimension_shows_a_preview_of_its_current_versions(dev: Dev) -> None:
    (dim_symbol,) = materializations(dev, "dim_symbol", []).values()
    lines = dim_symbol["preview"]["mdStr"].splitlines()
    table = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]

    assert table[0] == [
        "symbol_key",
        "symbol",
        "name",
        "asset_class",
        "exchange",
        "sector",
        "valid_from",
    ]
    universe = {s.symbol: s for s in load_universe()}
    assert sorted(row[1] for row in table[2:]) == sorted(universe)
    for row in table[2:]:
        assert row[2:5] == [
            universe[row[1]].name,
            universe[row[1]].asset_class,
            universe[row[1]].exchange,
        ]


def test_the_date_dimension_shows_a_preview_of_the_dates_up_to_today(dev: Dev) -> None:
    (dim_date,) = materializations(dev, "dim_date", []).values()
    lines = dim_date["preview"]["mdStr"].splitlines()
    table = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]

    assert table[0][:2] == ["date_key", "date"]
    dates = [date.fromisoformat(row[1]) for row in table[2:]]
    assert len(dates) == PREVIEW_ROWS and dates[-1] == date.today()


def test_the_report_link_opens_and_its_empty_sections_say_why(dev: Dev) -> None:
    (report,) = materializations(dev, "market_report", []).values()
    url = report["url"]["url"]
    assert url.startswith(f"http://127.0.0.1:{dev.report_port}/reports/market_report/")
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        page = response.read().decode()

    sessions = xcals.get_calendar("XNYS").sessions_in_range(START, END)
    returns = len(sessions) - 1  # the first session has no previous close
    assert 'class="market-chart"' in page
    assert "No correlation heat map: fact_correlation is empty" in page
    assert "Correlation of daily returns on None" not in page
    for symbol in SYMBOLS:
        assert (
            f"{symbol}: no VaR (VaR needs 250 daily returns; fact_risk holds {returns} up to "
            f"{pd.Timestamp(sessions[-1]).date()})" in page
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), "install them with `make browser`"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver: WebDriver, url: str, *texts: str) -> str:
    """Load `url`, wait until the page shows every one of `texts`, close Dagster's newsletter
    dialog if it covers the page; the page's text."""
    driver.get(url)

    def showing(d: WebDriver) -> bool:
        body = d.find_element(By.TAG_NAME, "body").text
        return all(text in body for text in texts)

    WebDriverWait(driver, PAGE_SECONDS).until(showing)
    for skip in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
        skip.click()
    return driver.find_element(By.TAG_NAME, "body").text


def click(driver: WebDriver, text: str) -> None:
    driver.find_element(By.XPATH, f"//*[normalize-space(text())='{text}']").click()


def test_the_ui_shows_the_graph_a_partition_and_a_check_history(
    dev: Dev, browser: WebDriver
) -> None:
    # The bars group's graph: both bar assets materialized, their checks passed but daily_bars'
    # freshness SLA, which fails truthfully: the home holds January 2025, today's days are due.
    graph = open_page(
        browser,
        f"{dev.url}/locations/fin_assets.definitions/asset-groups/bars",
        "daily_bars",
        "intraday_bars",
        "Passed",
    )
    browser.save_screenshot(str(ARTIFACTS / "dagster_asset_graph.png"))
    assert re.search(r"daily_bars\s+Latest event", graph), graph
    assert re.findall(r"(\d+) / (\d+) Passed", graph) == [("5", "6"), ("8", "8")], graph

    # A partition of daily_bars: 28 partitions materialized; a session has one daily bar, the
    # 9 January closure none, each shown as that partition's own row count.
    for partition, rows in (("2025-01-02|AAPL", 1), ("2025-01-09|AAPL", 0)):
        view = open_page(
            browser,
            f"{dev.url}/assets/daily_bars?view=partitions&partition={quote(partition)}",
            partition,
            "dagster/row_count",
        )
        assert "Materialized (28)" in view
        assert re.search(rf"dagster/row_count\s+{rows}\s", view), view
    browser.save_screenshot(str(ARTIFACTS / "dagster_partition.png"))

    # The execution history of daily_bars' ohlc_consistency check: evaluated by the history
    # run, and passed.
    open_page(
        browser,
        f"{dev.url}/assets/daily_bars?view=checks&checkDetail=ohlc_consistency",
        "ohlc_consistency",
        "Execution history",
    )
    click(browser, "Execution history")
    browser.save_screenshot(str(ARTIFACTS / "dagster_check_history.png"))
    WebDriverWait(browser, PAGE_SECONDS).until(
        lambda d: (
            "Evaluation result" in d.find_element(By.TAG_NAME, "body").text
            and d.find_elements(By.XPATH, "//table//tbody/tr")
        )
    )
    browser.save_screenshot(str(ARTIFACTS / "dagster_check_history.png"))
    results = [
        row.find_element(By.XPATH, "./td[1]").text
        for row in browser.find_elements(By.XPATH, "//table//tbody/tr")
    ]
    assert results and set(results) == {"Passed"}, results
    for name in ("dagster_asset_graph", "dagster_partition", "dagster_check_history"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 20_000


def test_dev_logs_no_sensor_tick_and_stops_within_30_s_of_sigterm(dev: Dev) -> None:
    seconds, survivors = stop_dev(dev)

    assert survivors == [], dev.log_tail()
    assert seconds < STOP_SECONDS
    assert dev.process.returncode == 0, dev.log_tail()
    lines = dev.log.read_text().splitlines()
    chatter = [
        line
        for line in lines
        if " - INFO - " in line
        and not RUN_LINE.search(line)
        and not AUTOMATION_PREFETCH_LINE.search(line)
    ]
    assert chatter == []


def test_dev_in_the_foreground_stops_within_30_s_of_ctrl_c(
    fin_settings: Settings, tmp_path: Path
) -> None:
    with running_dev(fin_settings, free_port(), free_port(), tmp_path / "dev.log", False) as dev:
        seconds, survivors = stop_dev(dev, signal.SIGINT)

    assert survivors == [], dev.log_tail()
    assert seconds < STOP_SECONDS
    assert dev.process.returncode == 0, dev.log_tail()
