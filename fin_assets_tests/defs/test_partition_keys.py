"""The Dagster-free partition keys (fin_assets.shared.partitions) are Dagster's."""

from __future__ import annotations

from datetime import date

import pytest
from dagster import MultiPartitionKey

from fin_assets.defs.common.partitions import graph_partitions
from fin_assets.shared.partitions import PartitionValues


@pytest.mark.parametrize("dimension", ["symbol", "block"])
def test_the_key_text_is_dagsters_multi_partition_key(dimension: str) -> None:
    day = date(2025, 6, 2)
    values = PartitionValues(day, ("B01",), {"B01": "B01"}, dimension, {"B01": ("B01",)})
    assert values.partition_key_text(day, "B01") == str(
        MultiPartitionKey({"date": str(day), dimension: "B01"})
    )


def test_the_key_text_of_the_universe_is_the_assets_partition_key() -> None:
    partitions = graph_partitions()
    for value in partitions.values.members:
        assert partitions.values.partition_key_text("2025-06-02", value) == str(
            partitions.partition_key("2025-06-02", value)
        )
