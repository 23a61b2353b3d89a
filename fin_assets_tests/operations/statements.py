"""The SQL statements a block of code sends, on every SQLAlchemy engine of the process."""

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine


@contextmanager
def statements_over(table: str) -> Iterator[list[str]]:
    """The statements naming `table` sent while the block runs."""
    executed: list[str] = []
    named = re.compile(rf"\b{re.escape(table)}\b")

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if named.search(statement):
            executed.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield executed
    finally:
        event.remove(Engine, "before_cursor_execute", record)
