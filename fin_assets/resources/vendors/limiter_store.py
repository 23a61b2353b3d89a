"""Rate-limiter state shared by processes: pyrate-limiter's StateStore over one SQL table.

pyrate-limiter 4 keeps a token bucket's state (one float per quota: the GCRA "theoretical
arrival time", epoch milliseconds) in a StateStore and ships in-memory, multiprocessing-manager
and Redis stores. SqlStateStore puts it in a table of a SQLite file or a Postgres database, so
every process that limits the same vendor and key (concurrent runs, step pods, a run later the
same day) spends one budget. Its window buckets (SQLiteBucket, PostgresBucket) would keep one
row per call and a sliding window instead; the token bucket is what RateLimiter uses.

Table `fin_vendor_limiter_state(key, state)`: `state` is the JSON list of the floats. Each
check is one transaction that first writes the key's row (a no-op insert and update), which
takes SQLite's database write lock or Postgres's row lock, then reads the state, applies the
algorithm's transition and stores the result: no other process interleaves. A row whose state
does not match the quotas (another number of rates) starts over from a full bucket.

The time of each check is the limiter's (an injected clock in tests), never the database's.

Table `fin_vendor_events(vendor, event, count)`: how many times each vendor's limiters took a
token (`call`), had to wait or refused for a spent quota (`throttle`) and how many HTTP
attempts the client retried (`retry`), summed over every process sharing the store: the
metrics exporter reads it (fin_assets.operations).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from pyrate_limiter import Decision, Rate, StateAlgorithm, StateStore, WallClock
from pyrate_limiter.abstracts.algorithm import State
from sqlalchemy import Connection, Engine, create_engine, make_url, text

TABLE = "fin_vendor_limiter_state"
EVENTS_TABLE = "fin_vendor_events"
EVENTS = ("call", "throttle", "retry")
# Seconds a SQLite writer waits for another process's transaction before failing.
SQLITE_BUSY_TIMEOUT_SECONDS = 30

_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def limiter_engine(url: str) -> Engine:
    """The process's engine of `url` (SQLAlchemy URL: sqlite:///path or postgresql://...),
    with the state table created."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            parsed = make_url(url)
            options = {}
            if parsed.get_backend_name() == "sqlite":
                Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
                options = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}}
            engine = create_engine(url, pool_pre_ping=True, **options)
            _create_table(engine)
            _ENGINES[url] = engine
        return engine


def _create_table(engine: Engine) -> None:
    """Create the state and event tables unless they exist."""
    create_tables(
        engine,
        f"CREATE TABLE IF NOT EXISTS {TABLE} (key TEXT PRIMARY KEY, state TEXT)",
        f"CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} (vendor TEXT, event TEXT, "
        "count BIGINT NOT NULL, PRIMARY KEY (vendor, event))",
    )


def create_tables(engine: Engine, *creates: str) -> None:
    """Run `CREATE TABLE IF NOT EXISTS` statements in one transaction. Postgres's is not atomic
    (of two sessions creating a table at once, one can fail on the catalog: "type ... already
    exists" or a unique violation), so on Postgres the transaction first takes an advisory
    lock: creators of the store's tables take turns, and the later ones find them."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": TABLE}
            )
        for create in creates:
            connection.execute(text(create))


def record_event(engine: Engine, vendor: str, event: str) -> None:
    """Add one to the vendor's count of `event` (one of EVENTS), in one statement."""
    if event not in EVENTS:
        raise ValueError(f"unknown vendor event {event!r}: expected one of {EVENTS}")
    with engine.begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO {EVENTS_TABLE} (vendor, event, count) VALUES (:vendor, :event, 1) "
                f"ON CONFLICT (vendor, event) DO UPDATE SET count = {EVENTS_TABLE}.count + 1"
            ),
            {"vendor": vendor, "event": event},
        )


class SqlStateStore(StateStore):
    """The state of one limiter key in the shared table (see the module docstring)."""

    is_async = False
    # Shared between processes and hosts, where a monotonic clock means nothing.
    default_clock = WallClock()

    def __init__(self, engine: Engine, key: str) -> None:
        self.engine = engine
        self.key = key

    def _locked_state(
        self, connection: Connection, algorithm: StateAlgorithm, rates: list[Rate]
    ) -> State:
        params = {"key": self.key}
        connection.execute(
            text(f"INSERT INTO {TABLE} (key, state) VALUES (:key, '[]') ON CONFLICT DO NOTHING"),
            params,
        )
        connection.execute(text(f"UPDATE {TABLE} SET state = state WHERE key = :key"), params)
        stored = json.loads(
            connection.execute(
                text(f"SELECT state FROM {TABLE} WHERE key = :key"), params
            ).scalar_one()
        )
        return tuple(stored) if len(stored) == len(rates) else algorithm.initial(rates)

    def check(
        self, algorithm: StateAlgorithm, rates: list[Rate], now: int, weight: int
    ) -> Decision:
        with self.engine.begin() as connection:
            state = self._locked_state(connection, algorithm, rates)
            new_state, decision = algorithm.step(rates, state, now, weight)
            if decision.allowed:
                connection.execute(
                    text(f"UPDATE {TABLE} SET state = :state WHERE key = :key"),
                    {"key": self.key, "state": json.dumps(list(new_state))},
                )
            return decision

    def read(self, algorithm: StateAlgorithm, rates: list[Rate]) -> State:
        with self.engine.begin() as connection:
            return self._locked_state(connection, algorithm, rates)

    def reset(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(text(f"DELETE FROM {TABLE} WHERE key = :key"), {"key": self.key})
