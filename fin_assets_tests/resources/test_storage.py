from __future__ import annotations

from pathlib import Path

from dagster import asset, materialize

from fin_assets.resources.storage import LakeResource


def test_the_steps_of_a_run_share_one_lake_and_its_read_cache(tmp_path: Path) -> None:
    lakes = []

    @asset
    def first(lake: LakeResource) -> int:
        lakes.append(lake.get_lake())
        return 1

    @asset
    def second(lake: LakeResource, first: int) -> int:
        lakes.append(lake.get_lake())
        lakes.append(lake.get_lake())
        return first + 1

    resource = LakeResource(root=str(tmp_path))
    assert materialize([first, second], resources={"lake": resource}).success
    assert len(lakes) == 3
    assert lakes[0] is lakes[1] is lakes[2]
    assert resource.get_lake() is not resource.get_lake()
