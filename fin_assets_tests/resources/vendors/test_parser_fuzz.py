"""Property-based fuzzing of every vendor parser: any input gives a frame or a typed error.

Inputs are real recorded bodies mutated the ways real answers break: truncated, with a BOM,
keys deleted, values replaced by wrong types or by NaN/inf strings, list entries (timestamps)
duplicated, CSV lines dropped, repeated or garbled. A parser may only return a DataFrame or
raise a VendorError; any other exception (KeyError, TypeError, ...) fails the test.
"""

import copy
import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fin_assets.resources.vendors import alphavantage, coingecko, yahoo
from fin_assets.resources.vendors.errors import VendorError, VendorPayloadInvalid
from fin_assets_tests.resources.vendors.conftest import fixture_bytes

Parser = Callable[[bytes], Any]

JSON_PARSERS: dict[str, tuple[Parser, str]] = {
    "av_intraday_json": (
        alphavantage.parse_intraday_json,
        "alphavantage/time_series_intraday_5min_IBM_abridged.json",
    ),
    "av_daily_json": (
        alphavantage.parse_daily_json,
        "alphavantage/time_series_daily_adjusted_IBM_abridged.json",
    ),
    "av_body_check": (
        alphavantage.check_body,
        "alphavantage/error_rate_limit_Note_5perMin_500perDay_2019.json",
    ),
    "yahoo_intraday": (
        yahoo.parse_chart_intraday,
        "yahoo/chart_v8_AAPL_1m_weekend_empty_body.json",
    ),
    "yahoo_daily": (
        yahoo.parse_chart_daily,
        "yahoo/chart_v8_AAPL_1d_2020-08-31_2020-11-07_splits_dividends_body.json",
    ),
    "coingecko_chart": (coingecko.market_chart_bars, "coingecko/coins_id_market_chart_pretty.json"),
    "coingecko_markets": (
        coingecko.parse_markets,
        "coingecko/coins_markets_jpy_5coins_2026_pretty.json",
    ),
}
CSV_PARSERS: dict[str, tuple[Parser, str]] = {
    "av_intraday_csv": (
        alphavantage.parse_intraday_csv,
        "alphavantage/csv/time_series_intraday_5min_IBM_demo_2026-05-15.csv",
    ),
    "av_daily_csv": (
        alphavantage.parse_daily_csv,
        "alphavantage/csv/time_series_daily_adjusted_IBM_demo_2026-05-15.csv",
    ),
}
BAD_TEXTS = ["NaN", "nan", "inf", "-Infinity", "1e400", "", " ", "12,5", "2026-13-45", "null"]
# New York local times skipped (spring) and repeated (autumn) by daylight saving time.
DST_TIMES = ["2025-03-09 02:30:00", "2025-11-02 01:30:00"]
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(BAD_TEXTS),
    st.sampled_from([*DST_TIMES, "US/Nowhere", "1min"]),
    st.text(max_size=6),
)
VALUES = st.recursive(
    LEAVES,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=5,
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _small_seed(relative: str) -> Any:
    """The recorded body as a JSON tree, long arrays cut to 4 entries (fuzzing speed)."""

    def cut(node: Any) -> Any:
        if isinstance(node, list):
            return [cut(item) for item in node[:4]]
        if isinstance(node, dict):
            return {key: cut(value) for key, value in list(node.items())[:40]}
        return node

    return cut(json.loads(fixture_bytes(relative).decode("utf-8-sig")))


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every scalar and empty container in a JSON tree."""
    if isinstance(node, dict) and node:
        return [p for key, value in node.items() for p in _leaves(value, (*path, key))]
    if isinstance(node, list) and node:
        return [p for index, value in enumerate(node) for p in _leaves(value, (*path, index))]
    return [path]


def _replace_leaf(data: st.DataObject, tree: Any) -> Any:
    """Replace one scalar, chosen uniformly among all (timestamps, prices, zones...)."""
    root = {"root": copy.deepcopy(tree)}
    *parents, last = ("root", *data.draw(st.sampled_from(_leaves(tree))))
    node: Any = root
    for key in parents:
        node = node[key]
    node[last] = data.draw(LEAVES)
    return root["root"]


def _mutate(data: st.DataObject, tree: Any) -> Any:
    """One mutation at a random place of `tree` (a deep copy is changed)."""
    if data.draw(st.booleans()):
        return _replace_leaf(data, tree)
    root = {"root": copy.deepcopy(tree)}
    parent: Any = root
    key: Any = "root"
    while isinstance(parent[key], (dict, list)) and parent[key] and data.draw(st.booleans()):
        node = parent[key]
        parent, key = (
            node,
            data.draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node)))),
        )
    action = data.draw(st.sampled_from(["replace", "delete", "duplicate"]))
    if action == "replace" or (action == "delete" and parent is root):
        parent[key] = data.draw(VALUES)
    elif action == "delete":
        del parent[key]
    elif isinstance(parent, list):
        parent.insert(key, copy.deepcopy(parent[key]))  # a repeated entry or timestamp
    else:
        parent[key] = [parent[key], parent[key]]
    return root["root"]


def _damage_bytes(data: st.DataObject, body: bytes) -> bytes:
    if data.draw(st.booleans()):
        body = b"\xef\xbb\xbf" + body
    if data.draw(st.booleans()):
        body = body[: data.draw(st.integers(min_value=0, max_value=len(body)))]
    return body


def _only_typed_errors(parser: Parser, body: bytes) -> None:
    try:
        result = parser(body)
    except VendorError:
        return
    assert result is None or isinstance(result, pd.DataFrame)


@pytest.mark.parametrize("name", sorted(JSON_PARSERS))
@FUZZ
@given(data=st.data())
def test_json_parsers_raise_only_typed_errors(name: str, data: st.DataObject) -> None:
    parser, relative = JSON_PARSERS[name]
    tree = _small_seed(relative)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        tree = _mutate(data, tree)
    _only_typed_errors(parser, _damage_bytes(data, json.dumps(tree, allow_nan=True).encode()))


@pytest.mark.parametrize("name", sorted(CSV_PARSERS))
@FUZZ
@given(data=st.data())
def test_csv_parsers_raise_only_typed_errors(name: str, data: st.DataObject) -> None:
    parser, relative = CSV_PARSERS[name]
    lines = fixture_bytes(relative).decode().splitlines()[:6]
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        row = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "repeat", "field", "ending"]))
        if action == "drop":
            del lines[row]
        elif action == "repeat":
            lines.insert(row, lines[row])  # a duplicated timestamp
        elif action == "field":
            fields = lines[row].split(",")
            fields[data.draw(st.integers(0, len(fields) - 1))] = data.draw(
                st.sampled_from(BAD_TEXTS + DST_TIMES) | st.text(max_size=5)
            )
            lines[row] = ",".join(fields)
        else:
            lines[row] += "\r"
        if not lines:
            break
    _only_typed_errors(
        parser, _damage_bytes(data, "\n".join(lines).encode("utf-8", "surrogatepass"))
    )


@pytest.mark.parametrize("name", sorted(JSON_PARSERS) + sorted(CSV_PARSERS))
@FUZZ
@given(body=st.binary(max_size=64))
def test_parsers_on_arbitrary_bytes(name: str, body: bytes) -> None:
    parser, _ = {**JSON_PARSERS, **CSV_PARSERS}[name]
    _only_typed_errors(parser, body)


def test_duplicate_timestamp_key_is_invalid() -> None:
    body = fixture_bytes("alphavantage/time_series_intraday_5min_IBM_abridged.json").decode()
    first = body.index('"2020-05-08 14:00:00"')
    entry_end = body.index("}", first) + 1
    doubled = body[:entry_end] + "," + body[first:entry_end] + body[entry_end:]
    with pytest.raises(VendorPayloadInvalid, match="duplicate keys"):
        alphavantage.parse_intraday_json(doubled.encode())


def test_duplicate_timestamp_in_csv_is_invalid() -> None:
    lines = fixture_bytes("alphavantage/csv/time_series_intraday_5min_IBM_demo_2026-05-15.csv")
    header, first, *rest = lines.split(b"\n")
    with pytest.raises(VendorPayloadInvalid, match="1 duplicated ts values"):
        alphavantage.parse_intraday_csv(b"\n".join([header, first, first, *rest]))


@pytest.mark.parametrize("local", DST_TIMES)
def test_local_times_without_a_single_instant_are_invalid(local: str) -> None:
    body = f"timestamp,open,high,low,close,volume\n{local},1,1,1,1,1\n".encode()
    with pytest.raises(VendorPayloadInvalid, match="ambiguous or skipped in US/Eastern"):
        alphavantage.parse_intraday_csv(body)


@pytest.mark.parametrize("stamp", [2**46, -(2**44), 10**400])
def test_out_of_range_numbers_are_invalid(stamp: int) -> None:
    chart = json.loads(fixture_bytes("yahoo/chart_v8_BTC-USD_1d_body.json"))
    chart["chart"]["result"][0]["timestamp"][0] = stamp
    with pytest.raises(VendorPayloadInvalid, match="not an epoch time in s"):
        yahoo.parse_chart_daily(json.dumps(chart).encode())
    points = {key: [[stamp, 1.0]] for key in coingecko.CHART_SERIES}
    with pytest.raises(VendorPayloadInvalid, match="not an epoch time in ms"):
        coingecko.market_chart_bars(json.dumps(points).encode())


def test_numbers_beyond_float_are_invalid() -> None:
    prices = {key: [[1678836069765, 10**400]] for key in coingecko.CHART_SERIES}
    with pytest.raises(VendorPayloadInvalid, match="price is not a number"):
        coingecko.market_chart_bars(json.dumps(prices).encode())
