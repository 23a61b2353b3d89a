"""Hostile landing objects: none stops the others, each ends in one visible state
(docs/reliability.md)."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from dagster import DagsterInstance, SensorResult, build_sensor_context

from fin_assets.analytics.schemas import INTRADAY_BARS
from fin_assets.cli import main
from fin_assets.defs.ingest.landing import landing_sensor
from fin_assets.landing.contract import LandingContractError
from fin_assets.landing.cursor import LandingCursor
from fin_assets.landing.parsing import parse_landing_file
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.storage import LakeResource
from fin_assets.settings import Settings
from fin_assets.testing.landing_files import csv_bytes, minute_bars, put
from fin_assets.testing.s3_server import MotoS3
from fin_assets_tests.s3_server import s3_bucket, s3_server  # noqa: F401

JAN2 = date(2025, 1, 2)
VALID = "landing/AAPL/2025-01-02/valid.csv"
# 245 characters: the file fits the 255-byte limit of a file name, `{name}.error.json` does not.
LONG_NAME = f"landing/AAPL/2025-01-02/{'x' * 241}.csv"
LINK = "landing/AAPL/2025-01-02/passwd.csv"
HIDDEN = "landing/.hidden/2025-01-02/x.csv"


def valid_csv(base: float = 100.0) -> bytes:
    return csv_bytes(minute_bars("XNYS", JAN2, 0, 3, base))


def tick(root: str, cursor: str | None = None) -> SensorResult:
    context = build_sensor_context(
        cursor=cursor,
        resources={"lake": LakeResource(root=root)},
        instance=DagsterInstance.ephemeral(),
    )
    return landing_sensor(context)


def requested_keys(result: SensorResult) -> list[list[str]]:
    requests = result.run_requests
    return [r.run_config["ops"]["raw_quotes"]["config"]["landing_keys"] for r in requests]


def quarantined(lake: ParquetLake, key: str) -> list[tuple[str, dict]]:
    """Each quarantined version of `key`: the file's key and its report."""
    keys = lake.list_objects(f"quarantine/{key}")
    reports = [k for k in keys if k.endswith(".error.json")]
    return [
        (report["quarantined_as"], report)
        for report in (json.loads(lake.get_object(k)) for k in reports)
    ]


def test_a_local_lake_s_unwritable_report_a_symlink_and_a_dot_folder_stop_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lake = ParquetLake(str(tmp_path))
    lake.put_object(VALID, valid_csv())
    lake.put_object(LONG_NAME, b"ts,open\n")
    os.symlink("/etc/passwd", tmp_path / LINK)
    (tmp_path / HIDDEN).parent.mkdir(parents=True)
    (tmp_path / HIDDEN).write_bytes(valid_csv())
    caplog.set_level(logging.INFO)

    first = tick(str(tmp_path))
    second = tick(str(tmp_path), first.cursor)

    assert requested_keys(first) == [[VALID]]
    [(long_file, long_report)] = quarantined(lake, LONG_NAME)
    assert long_report["problems"][0].startswith("columns must be exactly")
    assert lake.get_object(long_file) == b"ts,open\n"
    [(link_file, link_report)] = quarantined(lake, LINK)
    assert os.readlink(tmp_path / link_file) == "/etc/passwd"
    assert link_report["kind"] == "symlink"
    assert link_report["problems"] == [
        "not a regular file but a symlink: it is not read, symbolic links are never followed"
    ]
    assert "root:" not in caplog.text
    assert (
        "root:"
        not in (tmp_path / link_file.removesuffix(".csv")).with_suffix(".error.json").read_text()
    )
    cursor = LandingCursor.from_json(second.cursor)
    assert cursor.reasons == {
        HIDDEN: "a temporary name (a segment starts with '.' or '_tmp'): waiting for its writer"
    }
    assert second.run_requests == []
    assert lake.list_objects("landing") == [VALID]


def test_s3_keys_the_lake_cannot_address_wait_with_their_reason(
    s3_server: MotoS3,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> None:
    odd = [
        "landing/AAPL//2025-10-08/x.csv",
        "landing/AAPL/../2025-01-02/y.csv",
        "landing/AAPL/./2025-01-02/z.csv",
    ]
    for key in odd:
        s3_server.client().put_object(Bucket=s3_bucket, Key=f"lake/{key}", Body=b"ts\n")
    put(s3_bucket, VALID, valid_csv())
    root = f"s3://{s3_bucket}/lake"

    first = tick(root)
    second = tick(root, first.cursor)

    assert requested_keys(first) == [[VALID]]
    reason = (
        "the key has an empty, '.' or '..' segment: the lake cannot read or quarantine it, "
        "move it to a valid key"
    )
    for result in (first, second):
        assert LandingCursor.from_json(result.cursor).reasons == dict.fromkeys(odd, reason)
    assert second.skip_reason.skip_message == (
        "3 new landing objects: 0 runs requested, 0 quarantined, 3 waiting (reasons in the cursor)"
    )


def test_a_second_bad_file_at_one_key_never_overwrites_the_first(
    s3_bucket: str,  # noqa: F811
) -> None:
    key = "landing/AAPL/2025-01-02/bad.csv"
    root = f"s3://{s3_bucket}/lake"
    # Same size and the same second: only the etag tells the two versions apart.
    landed = datetime(2026, 3, 2, 15, 0, 7, tzinfo=UTC)
    put(s3_bucket, key, b"ts,open\n", started=landed)
    first = tick(root)
    put(s3_bucket, key, b"ts,high\n", started=landed)
    tick(root, first.cursor)

    lake = ParquetLake(root)
    versions = sorted(quarantined(lake, key))
    assert [lake.get_object(file) for file, _ in versions] == [b"ts,open\n", b"ts,high\n"]
    columns = "columns must be exactly ['ts', 'open', 'high', 'low', 'close', 'volume']: "
    assert [report["problems"] for _, report in versions] == [
        [columns + "missing columns ['high', 'low', 'close', 'volume']"],
        [columns + "missing columns ['open', 'low', 'close', 'volume']"],
    ]
    assert len(lake.list_objects("quarantine")) == 4


def test_ingest_landing_states_every_object_and_ingests_the_valid_one(
    fin_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Every variable the CLI reads, not only FIN_HOME: an earlier test's FIN_LAKE_URL (which
    # fin_assets.runner leaves in os.environ for its code server) must not point it elsewhere.
    for name, value in fin_settings.environment().items():
        monkeypatch.setenv(name, value)
    root = fin_settings.home / "lake"
    lake = ParquetLake(str(root))
    # The landing job runs the whole graph, whose look-back needs the history from 2025-01-01.
    history = "landing/AAPL/2025-01-01_2025-01-02/history.csv"
    lake.put_object(history, valid_csv())
    lake.put_object(LONG_NAME, b"ts,open\n")
    os.symlink("/etc/passwd", root / LINK)
    (root / HIDDEN).parent.mkdir(parents=True)
    (root / HIDDEN).write_bytes(valid_csv())

    assert main(["ingest-landing"]) == 1
    out, incomplete = capsys.readouterr().out.split("4 landing files: ", 1)
    out += "4 landing files: " + incomplete.splitlines()[0]
    assert "Incomplete sessions (1;" in incomplete  # the valid file's 3 minutes of a session

    [(long_file, _)] = quarantined(lake, LONG_NAME)
    [(link_file, _)] = quarantined(lake, LINK)
    assert sorted(out.splitlines()) == sorted(
        [
            f"{HIDDEN}: waiting (a temporary name (a segment starts with '.' or '_tmp'): "
            "waiting for its writer)",
            f"{history}: succeeded",
            f"{LINK}: rejected (moved to {link_file}: not a regular file but a symlink: it is "
            "not read, symbolic links are never followed)",
            f"{LONG_NAME}: rejected (moved to {long_file}: columns must be exactly ['ts', "
            "'open', 'high', 'low', 'close', 'volume']: missing columns ['high', 'low', "
            "'close', 'volume'])",
            "4 landing files: 2 rejected, 1 succeeded, 1 waiting",
        ]
    )
    bars = lake.read_partitions("intraday_bars", INTRADAY_BARS, [JAN2], "AAPL").to_pandas()
    assert bars["open"].tolist() == [100.0, 101.0, 102.0]


def test_reports_name_rows_by_their_timestamp() -> None:
    content = valid_csv().replace(b",101.0,102.0,", b",abc,102.0,")
    lines = content.decode().splitlines()
    short = "\n".join([*lines[:2], lines[2].rsplit(",", 2)[0], lines[3]]).encode()

    with pytest.raises(LandingContractError) as bad_number:
        parse_landing_file(content, "csv")
    with pytest.raises(LandingContractError) as short_row:
        parse_landing_file(short, "csv")

    assert bad_number.value.problems == [
        "open has values that are not numbers: ts 2025-01-02T14:31:00+00:00 'abc'"
    ]
    assert short_row.value.problems == [
        "every CSV row needs 6 fields (truncated file?): ts 2025-01-02T14:31:00+00:00 has 4"
    ]


def test_a_folder_the_lake_may_not_open_waits_and_the_others_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tests run as root, whom permissions do not stop: the refusal is simulated.
    lake = ParquetLake(str(tmp_path))
    lake.put_object(VALID, valid_csv())
    lake.put_object("landing/MSFT/2025-01-02/m.csv", valid_csv())
    scandir = os.scandir

    def refuse_msft(path: str) -> object:
        if str(path).endswith("landing/MSFT"):
            raise PermissionError(13, "Permission denied", path)
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse_msft)

    result = tick(str(tmp_path))

    assert requested_keys(result) == [[VALID]]
    assert LandingCursor.from_json(result.cursor).reasons == {
        "landing/MSFT": "a folder the lake may not open: its files wait until it may"
    }
    assert lake.list_objects("quarantine") == []
