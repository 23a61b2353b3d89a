"""Data-quality rules: pure functions from pandas frames to a `RuleResult`.

A rule never raises for bad *data* (that is what it reports); it raises ValueError for bad
*arguments*: a required column missing or not numeric, an empty column list, bounds in the wrong
order. `sample` holds the first SAMPLE_SIZE offending rows in frame order, with the frame's own
index. When the frame has a `symbol` column, `detail` breaks the failures down by symbol
(largest count first, ties alphabetical). The Dagster asset checks turn a RuleResult into an
AssetCheckResult; this module does not import dagster.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa

SAMPLE_SIZE = 20
WORST_PARTITIONS = 5
PRICE_COLUMNS = ("open", "high", "low", "close")
VAR_PAIRS = (("var_99_hist", "var_95_hist"), ("var_99_param", "var_95_param"))


@dataclass(frozen=True, eq=False)
class RuleResult:
    """The outcome of one rule over one frame.

    - rule: the rule's name, e.g. "ohlc_consistency".
    - passed: whether the frame satisfies the rule. Equals `failed_rows == 0` for every rule but
      `schema`, which also fails an empty frame whose columns are wrong.
    - failed_rows: how many rows violate the rule (each rule's docstring says what it counts).
    - checked_rows: how many rows the rule actually tested.
    - sample: up to SAMPLE_SIZE offending rows.
    - detail: one human-readable sentence.
    - failed_partitions: where the failures are, as failing rows per (symbol, trade_date) key;
      either side is None when the failure holds for every symbol of that date (a frame without
      a symbol column) or every date of that symbol (a per-symbol statistic). None when the
      failures cannot be placed (the frame as a whole fails, e.g. its schema); empty when passed.

    Compared by identity (`eq=False`): a DataFrame field has no boolean equality.
    """

    rule: str
    passed: bool
    failed_rows: int
    checked_rows: int
    sample: pd.DataFrame
    detail: str
    failed_partitions: Mapping[tuple[str | None, date | None], int] | None = None


def rows_by_partition(rows: pd.DataFrame) -> dict[tuple[str | None, date | None], int]:
    """How many of `rows` fall in each (symbol, trade_date) key (symbol None without the column).

    `rows` needs a trade_date column (dates, or datetimes taken at their date).
    """
    _require_columns(rows, ("trade_date",), "rows_by_partition")
    days = pd.to_datetime(rows["trade_date"]).dt.date
    symbols = rows["symbol"] if "symbol" in rows.columns else [None] * len(rows)
    return dict(Counter(zip(symbols, days, strict=True)))


def check_schema(frame: pd.DataFrame, schema: pa.Schema) -> RuleResult:
    """Rule "schema": the frame has exactly the schema's columns, in its order and types.

    Problems reported by name: duplicated, missing and extra columns; a different column order;
    and every present column that `pa.Table.from_pandas(..., schema=..., preserve_index=False)`
    cannot convert to its Arrow type without loss (safe casts: truncated floats, out-of-range
    integers, sub-microsecond timestamps into `us`, wrong Python types). Two losses Arrow lets
    through are rejected explicitly: a tz-naive datetime64 column for a tz-aware timestamp field
    (its zone would be assumed) and datetime64 values with a time of day for a date32 field (the
    time would be dropped). Nulls are allowed (see check_no_nulls).
    failed_rows is len(frame) when there is any problem, else 0.
    """
    names = [str(name) for name in frame.columns]
    expected = list(schema.names)
    problems = column_set_problems(names, expected)
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if not problems and names != expected:
        problems.append(f"column order {names} differs from {expected}")
    for field in schema:
        if field.name in names and field.name not in duplicated:
            problem = _conversion_problem(frame[field.name], field)
            if problem is not None:
                problems.append(f"column {field.name!r}: {problem}")
    failed = len(frame) if problems else 0
    detail = "; ".join(problems) if problems else f"all {len(expected)} columns match the schema"
    return RuleResult(
        rule="schema",
        passed=not problems,
        failed_rows=failed,
        checked_rows=len(frame),
        sample=frame.head(min(failed, SAMPLE_SIZE)),
        detail=detail,
        failed_partitions=None if problems else {},
    )


def column_set_problems(names: Sequence[str], expected: Sequence[str]) -> list[str]:
    """Duplicated, missing and extra column names of `names` against `expected` (order free)."""
    duplicated = sorted({name for name in names if list(names).count(name) > 1})
    missing = [name for name in expected if name not in names]
    extra = [name for name in names if name not in expected]
    problems = []
    if duplicated:
        problems.append(f"duplicated columns {duplicated}")
    if missing:
        problems.append(f"missing columns {missing}")
    if extra:
        problems.append(f"extra columns {extra}")
    return problems


def check_unique(frame: pd.DataFrame, keys: Sequence[str]) -> RuleResult:
    """Rule "unique": no two rows share the same tuple of `keys` values.

    failed_rows counts every row involved in a duplicate (all copies, not just the extra ones).
    Null keys compare equal to each other, as in `DataFrame.duplicated`.
    """
    columns = _column_list(keys, "unique", "keys")
    _require_columns(frame, columns, "unique")
    mask = frame.duplicated(subset=columns, keep=False).to_numpy()
    return _mask_result("unique", frame, mask, len(frame), f"unique ({', '.join(columns)})")


def ohlc_inconsistent_mask(frame: pd.DataFrame) -> pd.Series:
    """Boolean Series (index of `frame`): True where a bar's open/high/low/close disagree.

    A bar is inconsistent when low > min(open, close) or high < max(open, close) or any of the
    four is NaN. low > high is covered: it always breaks one of the first two conditions.
    """
    prices = _numeric(frame, PRICE_COLUMNS, "ohlc_consistency")
    open_, high, low, close = (prices[name] for name in PRICE_COLUMNS)
    consistent = (low <= open_) & (low <= close) & (high >= open_) & (high >= close)
    return (~consistent).rename("ohlc_inconsistent")


def check_ohlc_consistency(frame: pd.DataFrame) -> RuleResult:
    """Rule "ohlc_consistency": no row is flagged by `ohlc_inconsistent_mask`."""
    mask = ohlc_inconsistent_mask(frame).to_numpy()
    condition = "low <= min(open, close) and high >= max(open, close)"
    return _mask_result("ohlc_consistency", frame, mask, len(frame), condition)


def check_positive_prices(frame: pd.DataFrame) -> RuleResult:
    """Rule "positive_prices": open, high, low and close are all finite and > 0 (NaN fails)."""
    return _check_finite_above("positive_prices", frame, PRICE_COLUMNS, inclusive=False)


def check_non_negative_volume(frame: pd.DataFrame) -> RuleResult:
    """Rule "non_negative_volume": volume is finite and >= 0 (NaN fails)."""
    return _check_finite_above("non_negative_volume", frame, ("volume",), inclusive=True)


def check_session_completeness(
    bars: pd.DataFrame, expected: Mapping[tuple[str, date], pd.DatetimeIndex]
) -> RuleResult:
    """Rule "session_completeness": each (symbol, trade_date) has exactly the expected minutes.

    `bars` needs columns symbol, trade_date (dates, or datetimes taken at their date) and ts
    (tz-aware bar open times). `expected` maps each key to its tz-aware minute index; an empty
    index may be tz-naive. Timestamps are compared as UTC instants; duplicates count once (they
    are check_unique's business). A key present in `bars` but absent from `expected` is treated
    as expecting no minutes, so all its bars are unexpected; a key with an empty index and no
    bars passes.
    failed_rows = missing + unexpected minutes over all keys; checked_rows = the size of the
    union of expected and present minutes. `sample` lists offending minutes (columns symbol,
    trade_date, ts, problem in {"missing", "unexpected"}); `detail` names the worst
    WORST_PARTITIONS keys by failed minutes.
    """
    _require_columns(bars, ("symbol", "trade_date", "ts"), "session_completeness")
    wanted = {
        _check_key(key): set(_utc_nanoseconds(index, f"expected[{key}]"))
        for key, index in expected.items()
    }
    present = _minutes_by_partition(bars)
    sample_rows: list[tuple[Hashable, Hashable, int, str]] = []
    failures: list[tuple[int, str]] = []
    failed_partitions: dict[tuple[str | None, date | None], int] = {}
    checked = 0
    keys = list(dict.fromkeys([*wanted, *present]))
    for symbol, trade_date in keys:
        want = wanted.get((symbol, trade_date), set())
        have = present.get((symbol, trade_date), set())
        missing, unexpected = sorted(want - have), sorted(have - want)
        checked += len(want | have)
        if missing or unexpected:
            label = f"{symbol} {trade_date} ({len(missing)} missing, {len(unexpected)} unexpected)"
            failures.append((len(missing) + len(unexpected), label))
            failed_partitions[(symbol, trade_date)] = len(missing) + len(unexpected)
        for problem, stamps in (("missing", missing), ("unexpected", unexpected)):
            room = SAMPLE_SIZE - len(sample_rows)
            sample_rows.extend((symbol, trade_date, ns, problem) for ns in stamps[:room])
    failed = sum(count for count, _ in failures)
    sample = pd.DataFrame(sample_rows, columns=["symbol", "trade_date", "ns", "problem"])
    sample.insert(2, "ts", pd.to_datetime(sample.pop("ns"), utc=True))
    if failures:
        worst = sorted(failures, key=lambda failure: -failure[0])[:WORST_PARTITIONS]
        detail = (
            f"{failed} of {checked} minutes wrong in {len(failures)} of {len(keys)} partitions;"
            f" worst: {', '.join(label for _, label in worst)}"
        )
    else:
        detail = f"all {len(keys)} partitions complete ({checked} minutes)"
    return RuleResult(
        "session_completeness", not failures, failed, checked, sample, detail, failed_partitions
    )


def check_value_range(frame: pd.DataFrame, column: str, low: float, high: float) -> RuleResult:
    """Rule "value_range": every non-NaN value of `column` lies in [low, high] (inclusive).

    NaN (e.g. indicator warm-up) is neither checked nor failed: checked_rows counts the non-NaN
    values. Infinities fail unless the matching bound is infinite too.
    """
    if math.isnan(low) or math.isnan(high) or low > high:
        raise ValueError(f"value_range: need low <= high, got low={low}, high={high}")
    values = _numeric(frame, (column,), "value_range")[column].to_numpy()
    present = ~np.isnan(values)
    mask = present & ~((values >= low) & (values <= high))
    condition = f"{low} <= {column} <= {high}"
    return _mask_result("value_range", frame, mask, int(present.sum()), condition)


def check_var_ordering(
    frame: pd.DataFrame, pairs: Sequence[tuple[str, str]] = VAR_PAIRS
) -> RuleResult:
    """Rule "var_ordering": VaR at the higher level >= VaR at the lower level >= 0; CVaR >= VaR.

    VaR and CVaR are positive losses. For each (higher, lower) pair, e.g.
    ("var_99_hist", "var_95_hist"), a row fails when both are non-NaN and not
    higher >= lower >= 0. For each VaR column `v` of the pairs whose CVaR column `"c" + v`
    (e.g. cvar_95_hist) is in the frame, a row fails when both are non-NaN and cvar < var.
    A constraint with a NaN side is skipped; checked_rows counts rows where at least one
    constraint applied. `detail` gives the failures per constraint.
    """
    if not pairs:
        raise ValueError("var_ordering: pairs must not be empty")
    constraints: list[tuple[str, np.ndarray, np.ndarray]] = []
    for higher, lower in pairs:
        values = _numeric(frame, (higher, lower), "var_ordering")
        hi, lo = values[higher].to_numpy(), values[lower].to_numpy()
        applies = ~np.isnan(hi) & ~np.isnan(lo)
        constraints.append((f"{higher} >= {lower} >= 0", applies, ~((hi >= lo) & (lo >= 0))))
    var_columns = dict.fromkeys(name for pair in pairs for name in pair)
    for var in var_columns:
        cvar = f"c{var}"
        if cvar in frame.columns:
            values = _numeric(frame, (cvar, var), "var_ordering")
            c, v = values[cvar].to_numpy(), values[var].to_numpy()
            applies = ~np.isnan(c) & ~np.isnan(v)
            constraints.append((f"{cvar} >= {var}", applies, ~(c >= v)))
    checked = np.zeros(len(frame), dtype=bool)
    mask = np.zeros(len(frame), dtype=bool)
    counts = []
    for label, applies, broken in constraints:
        checked |= applies
        mask |= applies & broken
        counts.append(f"{label}: {int((applies & broken).sum())}")
    condition = " and ".join(label for label, _, _ in constraints)
    breakdown = f"failures per constraint: {', '.join(counts)}"
    return _mask_result("var_ordering", frame, mask, int(checked.sum()), condition, breakdown)


def check_no_nulls(frame: pd.DataFrame, columns: Sequence[str]) -> RuleResult:
    """Rule "no_nulls": none of `columns` is null (NaN, None, NaT, pd.NA) in any row.

    failed_rows counts rows with at least one null; `detail` gives the nulls per column.
    """
    names = _column_list(columns, "no_nulls", "columns")
    _require_columns(frame, names, "no_nulls")
    nulls = frame[names].isna()
    per_column = nulls.sum()
    counts = ", ".join(f"{name} {int(count)}" for name, count in per_column.items() if count)
    mask = nulls.any(axis=1).to_numpy()
    condition = f"no nulls in {', '.join(names)}"
    return _mask_result("no_nulls", frame, mask, len(frame), condition, f"nulls: {counts}")


def _check_finite_above(
    rule: str, frame: pd.DataFrame, columns: Sequence[str], *, inclusive: bool
) -> RuleResult:
    """Rows fail when any of `columns` is non-finite or below 0 (or equal to 0 if exclusive)."""
    values = _numeric(frame, columns, rule).to_numpy()
    above = values >= 0 if inclusive else values > 0
    mask = ~(np.isfinite(values) & above).all(axis=1)
    condition = f"{', '.join(columns)} finite and {'>=' if inclusive else '>'} 0"
    return _mask_result(rule, frame, mask, len(frame), condition)


def _mask_result(
    rule: str,
    frame: pd.DataFrame,
    mask: np.ndarray,
    checked_rows: int,
    condition: str,
    breakdown: str = "",
) -> RuleResult:
    """A RuleResult whose failing rows are those where the positional boolean `mask` is True."""
    failed = int(mask.sum())
    if failed == 0:
        detail = f"all {checked_rows} checked rows satisfy {condition}"
    else:
        parts = [f"{failed} of {checked_rows} checked rows violate {condition}"]
        if breakdown:
            parts.append(breakdown)
        if "symbol" in frame.columns:
            counts = frame.loc[mask, "symbol"].value_counts().sort_index()
            counts = counts.sort_values(ascending=False, kind="stable")
            parts.append(f"by symbol: {', '.join(f'{s} {n}' for s, n in counts.items())}")
        detail = "; ".join(parts)
    failing = frame[mask]
    placed = rows_by_partition(failing) if "trade_date" in frame.columns else None
    return RuleResult(
        rule, failed == 0, failed, checked_rows, failing.head(SAMPLE_SIZE), detail, placed
    )


def _conversion_problem(column: pd.Series, field: pa.Field) -> str | None:
    """Why `column` cannot become `field` without loss, or None when it can."""
    if (
        pa.types.is_timestamp(field.type)
        and field.type.tz is not None
        and pd.api.types.is_datetime64_dtype(column)
    ):
        return f"tz-naive datetime64 cannot fill {field.type} (its time zone would be assumed)"
    if pa.types.is_date(field.type) and pd.api.types.is_datetime64_any_dtype(column):
        stamps = column.dropna()
        if (stamps != stamps.dt.normalize()).any():
            return f"datetimes with a time of day would be truncated to {field.type}"
    try:
        pa.Table.from_pandas(column.to_frame(), schema=pa.schema([field]), preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as error:
        reason = error.args[0] if error.args else type(error).__name__
        return f"not convertible to {field.type} without loss ({reason})"
    return None


def _column_list(columns: Sequence[str], rule: str, what: str) -> list[str]:
    """`columns` as a non-empty list; a bare string is refused (it would iterate characters)."""
    if isinstance(columns, str) or not columns:
        raise ValueError(f"{rule}: {what} must be a non-empty sequence of column names")
    return list(columns)


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], rule: str) -> None:
    """Raise ValueError naming every column of `columns` missing from `frame`."""
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise ValueError(f"{rule}: missing columns {missing}; frame has {list(frame.columns)}")


def _numeric(frame: pd.DataFrame, columns: Sequence[str], rule: str) -> pd.DataFrame:
    """`frame[columns]` as float64; ValueError when a column is missing, boolean or not numeric."""
    _require_columns(frame, columns, rule)
    for name in columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
            raise ValueError(f"{rule}: column {name!r} must be numeric, got {column.dtype}")
    return frame[list(columns)].astype("float64")


def _minutes_by_partition(bars: pd.DataFrame) -> dict[tuple[Hashable, Hashable], set[int]]:
    """The bar open times (UTC nanoseconds) of each (symbol, trade_date) present in `bars`."""
    slots = pd.DataFrame(
        {
            "symbol": bars["symbol"].to_numpy(),
            "trade_date": pd.to_datetime(bars["trade_date"]).dt.date.to_numpy(),
            "ns": _utc_nanoseconds(bars["ts"], "bars.ts"),
        }
    )
    groups = slots.groupby(["symbol", "trade_date"], sort=False, dropna=False)
    return {key: set(group["ns"]) for key, group in groups}


def _check_key(key: tuple[str, date]) -> tuple[str, date]:
    """Validate an `expected` key of check_session_completeness: (symbol, datetime.date)."""
    match key:
        case (str(), date() as day) if not isinstance(day, datetime):
            return key
    raise ValueError(f"session_completeness: expected keys must be (symbol, date), got {key!r}")


def _utc_nanoseconds(values: pd.Series | pd.DatetimeIndex, what: str) -> np.ndarray:
    """Timestamps as int64 nanoseconds since the epoch (UTC); tz-naive allowed only when empty."""
    index = pd.DatetimeIndex(values)
    if index.tz is None and len(index):
        raise ValueError(f"session_completeness: {what} must be tz-aware (UTC), got tz-naive")
    return index.as_unit("ns").asi8
