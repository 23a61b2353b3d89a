"""The samples a scrape of metric families serves, as Prometheus parses them."""

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families

from fin_assets.operations.metrics import FinAssetsCollector


def samples(families: Iterable[Metric]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(sample name, sorted labels) → value of every sample `families` render to."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FinAssetsCollector({"test": lambda: list(families)}))
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
