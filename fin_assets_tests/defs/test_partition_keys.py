"""The Dagster-free partition keys (fin_assets.shared.partitions) are Dagster's."""

from __future__ import annotations

from datetime import date

import pytest
from dagster import MultiPartitionKey

from fin_assets.defs.common.partitions import MEMBERS, partition_key
from fin_assets.shared.partitions import partition_key_text


@pytest.mark.parametrize("dimension", ["symbol", "block"])
def test_the_key_text_is_dagsters_multi_partition_key(dimension: str) -> None:
    day = date(2025, 6, 2)
    assert partition_key_text(day, "B01", dimension) == str(
        MultiPartitionKey({"date": str(day), dimension: "B01"})
    )


def test_the_key_text_of_the_universe_is_the_assets_partition_key() -> None:
    for value in MEMBERS:
        assert partition_key_text("2025-06-02", value) == str(partition_key("2025-06-02", value))
