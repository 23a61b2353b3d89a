"""Lake zones in buckets of their own (FIN_LANDING_URL, FIN_RAW_URL), over moto's S3 server.

The deployment (terraform/modules/s3_lake) gives landing, raw and curated a bucket each: the
landing zone (landing/ and quarantine/) at a bucket's root, the raw zone at another's, the
curated datasets under `lake/` of the third. These tests run the landing path end to end on
three moto buckets and check where every object ends up.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    SensorResult,
    build_sensor_context,
    define_asset_job,
)

from fin_assets.analytics.schemas import INTRADAY_BARS
from fin_assets.defs.ingest.landing import landing_sensor
from fin_assets.resources.environments import lake_resource, resources_for
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.object_store import ZONES
from fin_assets.settings import Settings, get_settings
from fin_assets.testing.landing_files import csv_bytes, minute_bars
from fin_assets.testing.s3_server import MotoS3
from fin_assets_tests.graph import asset_def
from fin_assets_tests.resources.test_lake import DAY, bars
from fin_assets_tests.resources.test_lake_s3 import bucket_keys as all_bucket_keys
from fin_assets_tests.s3_server import s3_server  # noqa: F401

JAN2 = date(2025, 1, 2)
ACCEPTED = "landing/AAPL/2025-01-02/accepted.csv"
REJECTED = "landing/AAPL/2025-01-02/cut.csv"


@pytest.fixture
def zoned_settings(
    s3_server: MotoS3,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Settings:
    """Settings read from the environment with the three zones in three fresh buckets."""
    landing, raw, curated = (s3_server.create_bucket() for _ in range(3))
    monkeypatch.setenv("FIN_HOME", str(tmp_path))
    monkeypatch.setenv("FIN_LAKE_URL", f"s3://{curated}/lake")
    monkeypatch.setenv("FIN_LANDING_URL", f"s3://{landing}")
    monkeypatch.setenv("FIN_RAW_URL", f"s3://{raw}")
    return get_settings()


def bucket_keys(s3_server: MotoS3, bucket: str) -> list[str]:  # noqa: F811
    """The bucket's object keys, without the empty "folder/" markers pyarrow leaves when it
    deletes a folder's last object."""
    return [key for key in all_bucket_keys(s3_server, bucket) if not key.endswith("/")]


def bucket_of(url: str) -> str:
    return url.removeprefix("s3://").split("/", 1)[0]


def aapl_csv() -> bytes:
    return csv_bytes(minute_bars("XNYS", JAN2, 0, 3, 100.0))


def test_zone_roots_default_to_the_lake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("FIN_LAKE_URL", "FIN_LANDING_URL", "FIN_RAW_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FIN_HOME", str(tmp_path))
    settings = get_settings()
    lake_dir = str(tmp_path.resolve() / "lake")
    assert (settings.lake_root, settings.landing_root, settings.raw_root) == (lake_dir,) * 3
    resource = lake_resource(settings)
    assert (resource.root, resource.landing_root, resource.raw_root) == (lake_dir,) * 3

    lake = resource.get_lake()
    lake.put_object("landing/a.csv", b"a")
    lake.put_object("raw/v/b.json", b"b")
    lake.move_object("landing/a.csv", "quarantine/landing/a.csv")
    files = sorted(str(p.relative_to(lake_dir)) for p in Path(lake_dir).rglob("*") if p.is_file())
    assert files == ["quarantine/landing/a.csv", "raw/v/b.json"]


def test_each_key_lives_in_its_zones_root(
    s3_server: MotoS3,  # noqa: F811
    zoned_settings: Settings,
) -> None:
    lake = lake_resource(zoned_settings).get_lake()
    lake.put_object("landing/AAPL/2025-01-02/x.csv", b"landed")
    lake.replace_object("quarantine/landing/AAPL/2025-01-02/y.csv.error.json", b"{}")
    lake.put_object("raw/synthetic/symbol=AAPL/trade_date=2025-01-02/1-ab.json", b"{}")
    lake.write_partition("bars", bars([1.0]), trade_date=DAY, symbol="AAPL")

    landing = bucket_of(zoned_settings.landing_root)
    raw, curated = bucket_of(zoned_settings.raw_root), bucket_of(zoned_settings.lake_root)
    assert bucket_keys(s3_server, landing) == [
        "landing/AAPL/2025-01-02/x.csv",
        "quarantine/landing/AAPL/2025-01-02/y.csv.error.json",
    ]
    assert bucket_keys(s3_server, raw) == [
        "raw/synthetic/symbol=AAPL/trade_date=2025-01-02/1-ab.json"
    ]
    assert bucket_keys(s3_server, curated) == [
        f"lake/bars/symbol=AAPL/trade_date={DAY.isoformat()}/part-0.parquet"
    ]
    assert lake.list_objects("landing") == ["landing/AAPL/2025-01-02/x.csv"]
    assert lake.list_objects("raw/synthetic") == [
        "raw/synthetic/symbol=AAPL/trade_date=2025-01-02/1-ab.json"
    ]
    assert lake.get_object("landing/AAPL/2025-01-02/x.csv") == b"landed"
    assert lake.object_uri("raw/x.json") == f"s3://{raw}/raw/x.json"
    with pytest.raises(FileNotFoundError, match=f"no object at s3://{landing}/landing/none.csv"):
        lake.get_object("landing/none.csv")


def test_a_move_across_buckets_copies_then_deletes(
    s3_server: MotoS3,  # noqa: F811
) -> None:
    landing, quarantine = s3_server.create_bucket(), s3_server.create_bucket()
    lake = ParquetLake(
        f"s3://{s3_server.create_bucket()}/lake",
        {"landing": f"s3://{landing}", "quarantine": f"s3://{quarantine}/zone"},
    )
    lake.put_object("landing/a.csv", b"abc")
    lake.move_object("landing/a.csv", "quarantine/landing/a.csv")
    assert bucket_keys(s3_server, landing) == []
    assert bucket_keys(s3_server, quarantine) == ["zone/quarantine/landing/a.csv"]
    assert lake.get_object("quarantine/landing/a.csv") == b"abc"

    # The target cannot be written (its bucket is gone): the source stays where it was.
    lake.put_object("landing/b.csv", b"def")
    s3_server.client().delete_object(Bucket=quarantine, Key="zone/quarantine/landing/a.csv")
    s3_server.client().delete_bucket(Bucket=quarantine)
    with pytest.raises(OSError, match=quarantine):
        lake.move_object("landing/b.csv", "quarantine/landing/b.csv")
    assert bucket_keys(s3_server, landing) == ["landing/b.csv"]


def test_an_unknown_zone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown lake zone 'curated'"):
        ParquetLake(str(tmp_path), {"curated": str(tmp_path / "other")})


def landing_runs(settings: Settings) -> list[ExecuteInProcessResult]:
    """Run every request of one landing sensor tick with the resources of `settings`; the run
    results, in run-key order."""
    resources = resources_for(settings)
    instance = DagsterInstance.ephemeral()
    tick = landing_sensor(
        build_sensor_context(resources={"lake": resources["lake"]}, instance=instance)
    )
    assert isinstance(tick, SensorResult)
    # The landing job runs the whole graph; the bars part of it is what these tests check.
    bars_job = define_asset_job(
        "landing_bars", selection=["raw_quotes", "intraday_bars", "daily_bars"]
    )
    defs = Definitions(
        assets=[asset_def("raw_quotes"), asset_def("intraday_bars"), asset_def("daily_bars")],
        jobs=[bars_job],
        resources=resources,
    )
    job = defs.resolve_job_def("landing_bars")
    return [
        job.execute_in_process(
            run_config=request.run_config,
            tags=request.tags,
            instance=instance,
            raise_on_error=False,
        )
        for request in sorted(tick.run_requests, key=lambda request: request.run_key)
    ]


def test_landing_files_go_to_raw_and_curated_or_to_quarantine_in_the_landing_bucket(
    s3_server: MotoS3,  # noqa: F811
    zoned_settings: Settings,
) -> None:
    landing = bucket_of(zoned_settings.landing_root)
    raw, curated = bucket_of(zoned_settings.raw_root), bucket_of(zoned_settings.lake_root)
    client = s3_server.client()
    # Producers write to the landing bucket directly.
    client.put_object(Bucket=landing, Key=ACCEPTED, Body=aapl_csv())
    client.put_object(Bucket=landing, Key=REJECTED, Body=aapl_csv()[:-12])

    # The sensor quarantines the broken file itself: one run, for the accepted file.
    (accepted,) = landing_runs(zoned_settings)

    assert accepted.success
    accepted_key, quarantined, report = bucket_keys(s3_server, landing)
    assert accepted_key == ACCEPTED
    assert quarantined.startswith(f"quarantine/{REJECTED}/")
    assert report == quarantined.removesuffix(".csv") + ".error.json"
    (payload,) = bucket_keys(s3_server, raw)
    assert payload.startswith("raw/landing/symbol=AAPL/trade_date=2025-01-02/")
    assert payload.endswith(".csv")
    body = client.get_object(Bucket=raw, Key=payload)["Body"].read()
    assert body == aapl_csv()
    curated_keys = bucket_keys(s3_server, curated)
    assert [key for key in curated_keys if key.startswith(("lake/daily_", "lake/intraday_"))] == [
        "lake/daily_bars/symbol=AAPL/trade_date=2025-01-02/part-0.parquet",
        "lake/intraday_bars/symbol=AAPL/trade_date=2025-01-02/part-0.parquet",
    ]
    assert not [key for key in curated_keys if key.split("/")[1] in ZONES]
    intraday = ParquetLake(zoned_settings.lake_root).read_partitions(
        "intraday_bars", INTRADAY_BARS, [JAN2], "AAPL"
    )
    assert intraday["open"].to_pylist() == [100.0, 101.0, 102.0]
