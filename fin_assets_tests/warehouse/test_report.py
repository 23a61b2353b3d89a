"""The market dashboard: rendered from a loaded warehouse, opened in headless Chromium."""

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from fin_assets.resources.warehouse_duckdb import DuckDBWarehouse
from fin_assets.testing.market import START, SYMBOLS, load_market
from fin_assets.warehouse.dashboard import DashboardData, read_dashboard_data, render_dashboard

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DAYS = 320
SHORT_DAYS = 100
CHARTS = len(SYMBOLS) + 1  # one per symbol and the correlation heat map


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse = DuckDBWarehouse(str(tmp_path_factory.mktemp("report") / "warehouse.duckdb"))
    warehouse.ensure_schema()
    load_market(warehouse, DAYS)
    path = tmp_path_factory.mktemp("page") / "market_report.html"
    path.write_text(render_dashboard(read_dashboard_data(warehouse.query), "test report"))
    return path


def test_the_page_is_self_contained(page: Path) -> None:
    text = page.read_text()

    assert text.count('class="market-chart"') == CHARTS
    assert not re.search(r"<script[^>]+src=", text)
    assert text.count("plotly.js v") == 1  # the library's header, inlined once
    for symbol in SYMBOLS:
        assert f"{symbol}: close, Bollinger (20, 2), SMA 50" in text


def test_chromium_renders_every_chart_without_console_errors(page: Path) -> None:
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), "install them with `make browser`"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,2400"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.get(page.as_uri())
        WebDriverWait(driver, 60).until(
            lambda d: (
                d.execute_script(
                    "return document.querySelectorAll('.market-chart .js-plotly-plot .main-svg')"
                    ".length"
                )
                >= CHARTS
            )
        )
        traces = driver.execute_script(
            "return Array.from(document.querySelectorAll('.market-chart .js-plotly-plot'))"
            ".map(gd => gd._fullData.length)"
        )
        drawn = driver.execute_script(
            "return Array.from(document.querySelectorAll('.market-chart .js-plotly-plot'))"
            ".map(gd => gd.querySelectorAll('.scatterlayer .trace, .heatmaplayer image,"
            " .barlayer .trace').length)"
        )
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "market_report.png"))
    finally:
        driver.quit()

    assert errors == []
    # Per symbol: 2 bands, close, 2 SMAs, 2 signal marker sets, RSI, MACD bars/line/signal,
    # returns, -VaR, exceptions; the heat map is one trace.
    assert traces == [14] * len(SYMBOLS) + [1]
    assert all(count > 0 for count in drawn)
    assert (ARTIFACTS / "market_report.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def short_market(tmp_path_factory: pytest.TempPathFactory) -> DashboardData:
    """SHORT_DAYS of the market without the portfolio: no correlation, VaR window not full."""
    warehouse = DuckDBWarehouse(str(tmp_path_factory.mktemp("short") / "warehouse.duckdb"))
    warehouse.ensure_schema()
    load_market(warehouse, SHORT_DAYS)
    data = read_dashboard_data(warehouse.query)
    return replace(data, correlation=data.correlation.iloc[0:0])


def test_empty_sections_say_why(short_market: DashboardData) -> None:
    text = render_dashboard(short_market, "short report")

    assert text.count('class="market-chart"') == len(SYMBOLS)  # no empty heat map
    assert "on None" not in text
    assert "No correlation heat map: fact_correlation is empty" in text
    last = START + timedelta(days=SHORT_DAYS - 1)
    for symbol in SYMBOLS:  # a return on every day after the first
        assert (
            f"{symbol}: no VaR (VaR needs 250 daily returns; fact_risk holds {SHORT_DAYS - 1} "
            f"up to {last})" in text
        )
    # var_95_hist, var_99_hist and cvar_95_hist of each symbol; volatility needs 20 returns.
    assert text.count("<td>n/a</td>") == 3 * len(SYMBOLS)


def test_a_full_window_has_var_and_no_note(page: Path) -> None:
    assert "no VaR" not in page.read_text()
    assert "empty-note" not in page.read_text()
