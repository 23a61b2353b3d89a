"""A real monitoring stack for the tests: the exporter (`fin-assets metrics`), Debian's
`prometheus` and `prometheus-alertmanager`, each a process on a free port, stopped after use."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import requests
import yaml

from fin_assets.settings import Settings
from fin_assets.testing.ports import free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "fin_assets_rules.yml"
ALERTMANAGER_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
# A scrape reads the whole instance: on a loaded 2-core test machine it can take seconds.
SCRAPE_INTERVAL = "5s"
T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    """The first truthy value of `probe`, polled every half second; AssertionError after
    `timeout` seconds naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = probe()
        except requests.RequestException:
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@contextmanager
def process(command: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[None]:
    """Run `command` (output to `log`) for the duration of the block, then stop it."""
    with log.open("w") as output:
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        try:
            yield
        finally:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def exporter_environment(settings: Settings) -> dict[str, str]:
    """The environment of a `fin-assets` process on `settings`' FIN_HOME and instance."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("FIN_")}
    return base | {
        "FIN_HOME": str(settings.home),
        "FIN_DAGSTER_PG_URL": settings.dagster_pg_url,
        "FIN_ENV": settings.env,
    }


@contextmanager
def exporter(settings: Settings, workdir: Path, lake_interval: float) -> Iterator[str]:
    """`fin-assets metrics` on a free port; yields its /metrics URL once it answers."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("fin-assets")),
        "metrics",
        "--port",
        str(port),
        "--lake-interval",
        str(lake_interval),
    ]
    url = f"http://127.0.0.1:{port}/metrics"
    with process(command, workdir / "exporter.log", exporter_environment(settings)):
        wait_for(lambda: requests.get(url, timeout=60).ok, 180, "the exporter")
        yield url


@contextmanager
def alertmanager(workdir: Path, webhook_url: str) -> Iterator[str]:
    """Alertmanager with deploy/'s routing, the receiver's URL set to `webhook_url` and the
    group waits cut to a second; yields its base URL."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    config["receivers"][0]["webhook_configs"][0]["url"] = webhook_url
    for route in [config["route"], *config["route"]["routes"]]:
        route["group_wait"] = "1s"
    config["route"]["group_interval"] = "1s"
    path = workdir / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    command = [
        "prometheus-alertmanager",
        f"--config.file={path}",
        f"--storage.path={workdir / 'alertmanager-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    url = f"http://127.0.0.1:{port}"
    with process(command, workdir / "alertmanager.log"):
        wait_for(lambda: requests.get(f"{url}/-/ready", timeout=5).ok, 60, "alertmanager")
        yield url


@contextmanager
def prometheus(workdir: Path, metrics_url: str, alertmanager_url: str) -> Iterator[str]:
    """Prometheus scraping `metrics_url` every SCRAPE_INTERVAL with deploy/'s rules, evaluated
    every second, alerting `alertmanager_url`; yields its base URL."""
    target = metrics_url.removeprefix("http://").removesuffix("/metrics")
    config = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [alertmanager_url.removeprefix("http://")]}]}
            ]
        },
        "scrape_configs": [
            {
                "job_name": "fin_assets",
                "scrape_timeout": SCRAPE_INTERVAL,
                "static_configs": [{"targets": [target]}],
            }
        ],
    }
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    command = [
        "prometheus",
        f"--config.file={path}",
        f"--storage.tsdb.path={workdir / 'prometheus-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    url = f"http://127.0.0.1:{port}"
    with process(command, workdir / "prometheus.log"):
        wait_for(lambda: requests.get(f"{url}/-/ready", timeout=5).ok, 60, "prometheus")
        yield url


def query(prometheus_url: str, promql: str) -> dict:
    """The `data` of an instant query; AssertionError (with Prometheus' error) if it fails."""
    response = requests.get(f"{prometheus_url}/api/v1/query", params={"query": promql}, timeout=10)
    body = response.json()
    assert body["status"] == "success", f"{promql}: {body.get('error')}"
    return body["data"]


def firing_alerts(prometheus_url: str) -> list[dict]:
    """Alerts Prometheus holds in state `firing`."""
    alerts = requests.get(f"{prometheus_url}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
    return [alert for alert in alerts if alert["state"] == "firing"]
