"""One budget of attempts per vendor request and run, shared by the client's and the step's retries.

Without it the client's retries multiply with the Dagster step's: 5 client attempts × 5 step
attempts made 25 calls on one failing Alpha Vantage request, the free tier's whole day. A
request (vendor, endpoint and public parameters) gets `limit` calls per scope (the Dagster run
id, so a step retry, in the same process or another, finds what the earlier attempts spent):

- the client asks `spend` before each call; a request whose calls are spent raises
  VendorRetryBudgetSpent without calling (never retried: the step fails at once);
- the client stops retrying when the budget is spent, raising VendorRetryBudgetSpent chained
  to the last error, so the step does not retry either.

`request_budget(quotas, attempts)` bounds the budget by the quota: at most `attempts`, and at
most a fifth of the vendor's longest-period quota (Alpha Vantage's 25 a day: 5 calls).

Where the counts live: `SqlAttemptStore`, table `fin_vendor_request_attempts` beside the rate
limiters' state (limiter_store.py: a SQLite file locally, the instance's Postgres in prod), so
processes and pods share them; `MemoryAttemptStore` keeps them in the process (no store URL).
One row per request and run; rows older than a week are deleted when a new scope starts.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, text

from fin_assets.resources.vendors.errors import VendorError
from fin_assets.resources.vendors.limiter_store import create_tables
from fin_assets.resources.vendors.rate_limit import Quota

TABLE = "fin_vendor_request_attempts"
# The share of the longest-period quota one request may spend on attempts.
QUOTA_SHARE = 5
KEEP_DAYS = 7


class VendorRetryBudgetSpent(VendorError):
    """A request used every attempt of its budget in this run (client and step retries)."""


def request_budget(quotas: tuple[Quota, ...], attempts: int) -> int:
    """Calls one request may make per run: `attempts`, at most a fifth of the longest quota."""
    longest = max(quotas, key=lambda quota: quota.period_seconds)
    return max(1, min(attempts, longest.limit // QUOTA_SHARE))


class AttemptStore(Protocol):
    """Calls made per (scope, request), and the last error of each."""

    def spend(self, scope: str, request: str, limit: int) -> int | None:
        """Count one call; the calls made including it, or None when `limit` are made."""
        ...

    def spent(self, scope: str, request: str) -> tuple[int, str]:
        """(calls made, last error recorded) of the request in the scope."""
        ...

    def record_error(self, scope: str, request: str, message: str) -> None: ...


class MemoryAttemptStore:
    """Counts in this process (shared by its threads)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], tuple[int, str]] = {}
        self._lock = threading.Lock()

    def spend(self, scope: str, request: str, limit: int) -> int | None:
        with self._lock:
            calls, error = self._counts.get((scope, request), (0, ""))
            if calls >= limit:
                return None
            self._counts[(scope, request)] = (calls + 1, error)
            return calls + 1

    def spent(self, scope: str, request: str) -> tuple[int, str]:
        with self._lock:
            return self._counts.get((scope, request), (0, ""))

    def record_error(self, scope: str, request: str, message: str) -> None:
        with self._lock:
            calls, _ = self._counts.get((scope, request), (0, ""))
            self._counts[(scope, request)] = (calls, message)


class SqlAttemptStore:
    """Counts in a table of the limiter store's database (SQLite or Postgres), one row per
    (scope, request); each `spend` is one transaction that locks the row."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(
            engine,
            f"CREATE TABLE IF NOT EXISTS {TABLE} (scope TEXT, request TEXT, "
            "attempts INTEGER NOT NULL, last_error TEXT NOT NULL, updated_at TEXT NOT NULL,"
            " PRIMARY KEY (scope, request))",
        )

    def spend(self, scope: str, request: str, limit: int) -> int | None:
        now = datetime.now(UTC)
        params = {"scope": scope, "request": request, "now": now.isoformat()}
        with self.engine.begin() as connection:
            inserted = connection.execute(
                text(
                    f"INSERT INTO {TABLE} (scope, request, attempts, last_error, updated_at) "
                    "VALUES (:scope, :request, 0, '', :now) ON CONFLICT DO NOTHING"
                ),
                params,
            ).rowcount
            if inserted:
                cutoff = (now - timedelta(days=KEEP_DAYS)).isoformat()
                connection.execute(
                    text(f"DELETE FROM {TABLE} WHERE updated_at < :cutoff"), {"cutoff": cutoff}
                )
            updated = connection.execute(
                text(
                    f"UPDATE {TABLE} SET attempts = attempts + 1, updated_at = :now "
                    "WHERE scope = :scope AND request = :request AND attempts < :limit "
                    "RETURNING attempts"
                ),
                {**params, "limit": limit},
            ).scalar_one_or_none()
        return updated

    def spent(self, scope: str, request: str) -> tuple[int, str]:
        with self.engine.begin() as connection:
            row = connection.execute(
                text(
                    f"SELECT attempts, last_error FROM {TABLE} "
                    "WHERE scope = :scope AND request = :request"
                ),
                {"scope": scope, "request": request},
            ).one_or_none()
        return (int(row[0]), str(row[1])) if row else (0, "")

    def record_error(self, scope: str, request: str, message: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                text(
                    f"UPDATE {TABLE} SET last_error = :message "
                    "WHERE scope = :scope AND request = :request"
                ),
                {"scope": scope, "request": request, "message": message},
            )


class AttemptBudget:
    """The budget of `limit` calls per request within `scope`, counted in `store`."""

    def __init__(self, store: AttemptStore, scope: str, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"an attempt budget needs limit >= 1, got {limit}")
        self.store = store
        self.scope = scope
        self.limit = limit

    def spend(self, vendor: str, request: str) -> int:
        """Count a call about to be made; VendorRetryBudgetSpent when none is left."""
        calls = self.store.spend(self.scope, request, self.limit)
        if calls is None:
            raise self.spent_error(vendor, request)
        return calls

    def remaining(self, request: str) -> int:
        return self.limit - self.store.spent(self.scope, request)[0]

    def record_error(self, request: str, error: Exception) -> None:
        self.store.record_error(self.scope, request, str(error))

    def spent_error(self, vendor: str, request: str) -> VendorRetryBudgetSpent:
        """The error of a request whose budget is spent, naming its last error."""
        calls, last_error = self.store.spent(self.scope, request)
        return VendorRetryBudgetSpent(
            vendor,
            f"{calls} calls of {request} made in this run, its whole retry budget of "
            f"{self.limit} (client and step retries together); last error: {last_error}",
        )


_MEMORY = MemoryAttemptStore()
_SQL: dict[int, SqlAttemptStore] = {}
_SQL_LOCK = threading.Lock()


def attempt_store(engine: Engine | None) -> AttemptStore:
    """The process's store: in memory without an engine, else the table in `engine`'s database."""
    if engine is None:
        return _MEMORY
    with _SQL_LOCK:
        if id(engine) not in _SQL:
            _SQL[id(engine)] = SqlAttemptStore(engine)
        return _SQL[id(engine)]
