"""The exporter's configuration: asset SLAs, Spark jobs and the cost price table.

Defaults below; a YAML file named by FIN_OPERATIONS_CONFIG (or `--config`) overrides any of
them, e.g.:

    sla_seconds: {default: 129600, intraday_bars: 900}
    spark_jobs: [lake_compaction_job]
    prices: {s3_gb_month: 0.021, spark_cores: 16}
    budget_usd: 250

`sla_seconds` is the lag (seconds since the asset's last materialization) the asset may reach
before the SLA alert fires. An asset the file does not name follows its freshness SLA
(fin_assets.defs.operations.freshness, the one definition the `freshness` checks follow too): at
each scrape, the time since the pull of its newest due date (the stream: 5 minutes); any other asset
gets `default`: 36 hours, one daily pull plus a half-day margin.
`budget_usd` is what the cost alert compares the estimated cost (since the stores began) to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path

import yaml

from fin_assets.defs.operations import freshness
from fin_assets.operations.metrics import PriceTable
from fin_assets.settings import environ

CONFIG_ENV = "FIN_OPERATIONS_CONFIG"
DEFAULT_SLA_SECONDS = 36 * 3600.0
DEFAULT_SPARK_JOBS = ("lake_compaction_job",)
DEFAULT_BUDGET_USD = 1000.0


@dataclass(frozen=True)
class OperationsConfig:
    """SLAs per asset (`default` for the others), jobs running on Spark, prices."""

    sla: Mapping[str, float] = field(default_factory=lambda: {"default": DEFAULT_SLA_SECONDS})
    spark_jobs: tuple[str, ...] = DEFAULT_SPARK_JOBS
    prices: PriceTable = field(default_factory=PriceTable)
    budget_usd: float = DEFAULT_BUDGET_USD

    def sla_seconds(self, asset: str, now: datetime | None = None) -> float:
        """The lag `asset` may reach: the file's value for it, else (given `now`) its
        freshness SLA's at `now`, else the default."""
        if asset not in self.sla and now is not None:
            allowed = freshness.sla_seconds(asset, now)
            if allowed is not None:
                return allowed
        return float(self.sla.get(asset, self.sla.get("default", DEFAULT_SLA_SECONDS)))


def load_config(path: str | None = None) -> OperationsConfig:
    """The configuration of the YAML file at `path` (default: $FIN_OPERATIONS_CONFIG), over
    the defaults; the defaults alone when neither is given."""
    path = path or environ().get(CONFIG_ENV)
    if not path:
        return OperationsConfig()
    raw = yaml.safe_load(Path(path).read_text()) or {}
    unknown = set(raw) - {"sla_seconds", "spark_jobs", "prices", "budget_usd"}
    price_names = {f.name for f in fields(PriceTable)}
    unknown |= {f"prices.{name}" for name in raw.get("prices", {})} - {
        f"prices.{name}" for name in price_names
    }
    if unknown:
        raise ValueError(f"{path}: unknown settings {sorted(unknown)}")
    defaults = OperationsConfig()
    return OperationsConfig(
        sla={**defaults.sla, **raw.get("sla_seconds", {})},
        spark_jobs=tuple(raw.get("spark_jobs", defaults.spark_jobs)),
        prices=replace(defaults.prices, **raw.get("prices", {})),
        budget_usd=float(raw.get("budget_usd", defaults.budget_usd)),
    )
