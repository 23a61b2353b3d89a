"""The quote message schema of the stream (JSON, UTF-8, `schema_version` 1).

Every message is keyed by its symbol (UTF-8 bytes of the ticker, so all of a symbol's messages
go to one partition, in publish order) and its value is one JSON object:

- trade:     {"schema_version": 1, "type": "trade", "symbol": "AAPL", "ts": 1735741800000,
              "price": 250.12, "size": 100.0}
- heartbeat: {"schema_version": 1, "type": "heartbeat", "symbol": "AAPL", "ts": 1735741860000}

`ts` is the event time in integer epoch milliseconds (UTC). A trade has a finite `price` > 0 and
a finite `size` >= 0 (JSON numbers). A heartbeat is the publisher's promise that no trade of the
symbol with `ts` below the heartbeat's will follow; it lets the landing writer close minutes of
a symbol that has stopped trading (end of session) without waiting on wall-clock time. No other
keys are allowed. `decode_quote` raises InvalidMessageError with the reason for anything else.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Literal

SCHEMA_VERSION = 1
MESSAGE_TYPES = ("trade", "heartbeat")
_KEYS = {
    "trade": {"schema_version", "type", "symbol", "ts", "price", "size"},
    "heartbeat": {"schema_version", "type", "symbol", "ts"},
}


class InvalidMessageError(ValueError):
    """A message that does not follow the schema; the text is the dead-letter reason."""


@dataclass(frozen=True)
class Quote:
    """One decoded message. `price` and `size` are None for heartbeats."""

    type: Literal["trade", "heartbeat"]
    symbol: str
    ts: int
    price: float | None = None
    size: float | None = None


def encode_quote(quote: Quote) -> bytes:
    """Compact UTF-8 JSON of `quote` (floats in Python's shortest round-trip repr)."""
    document: dict[str, object] = {
        "schema_version": SCHEMA_VERSION,
        "type": quote.type,
        "symbol": quote.symbol,
        "ts": quote.ts,
    }
    if quote.type == "trade":
        document |= {"price": quote.price, "size": quote.size}
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def _number(document: dict, key: str) -> float:
    value = document[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidMessageError(f"{key} must be a finite number, got {value!r}")
    return float(value)


def decode_quote(key: bytes | None, value: bytes | None) -> Quote:
    """Validate one message (key and value bytes) against the schema of the module docstring.

    The key must equal the UTF-8 symbol. Symbol membership in the universe and trading sessions
    are checked by the landing writer, not here.
    """
    if value is None:
        raise InvalidMessageError("empty message value")
    try:
        document = json.loads(value.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidMessageError(f"not UTF-8 JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidMessageError("value must be a JSON object")
    if document.get("schema_version") != SCHEMA_VERSION:
        raise InvalidMessageError(
            f"schema_version {document.get('schema_version')!r} is not {SCHEMA_VERSION}"
        )
    kind = document.get("type")
    if kind not in MESSAGE_TYPES:
        raise InvalidMessageError(f"type {kind!r} is not one of {', '.join(MESSAGE_TYPES)}")
    keys = set(document)
    if keys != _KEYS[kind]:
        missing, extra = sorted(_KEYS[kind] - keys), sorted(keys - _KEYS[kind])
        raise InvalidMessageError(f"{kind} keys: missing {missing}, unexpected {extra}")
    symbol, ts = document["symbol"], document["ts"]
    if not isinstance(symbol, str) or not symbol:
        raise InvalidMessageError(f"symbol must be a non-empty string, got {symbol!r}")
    if key is None or key != symbol.encode("utf-8"):
        raise InvalidMessageError(f"message key {key!r} is not the symbol {symbol!r}")
    if isinstance(ts, bool) or not isinstance(ts, int):
        raise InvalidMessageError(f"ts must be integer epoch milliseconds, got {ts!r}")
    if kind == "heartbeat":
        return Quote("heartbeat", symbol, ts)
    price, size = _number(document, "price"), _number(document, "size")
    if price <= 0:
        raise InvalidMessageError(f"price must be > 0, got {price!r}")
    if size < 0:
        raise InvalidMessageError(f"size must be >= 0, got {size!r}")
    return Quote("trade", symbol, ts, price, size)
