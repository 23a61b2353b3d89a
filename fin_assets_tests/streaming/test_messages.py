"""The quote schema: exact encoding, and the reason given for each kind of bad message."""

import pytest

from fin_assets.streaming.messages import InvalidMessageError, Quote, decode_quote, encode_quote


def test_trade_and_heartbeat_encode_to_the_documented_json_and_back() -> None:
    trade = Quote("trade", "AAPL", 1_748_871_000_000, 250.12, 100.0)
    heartbeat = Quote("heartbeat", "AAPL", 1_748_871_060_000)
    assert encode_quote(trade) == (
        b'{"schema_version":1,"type":"trade","symbol":"AAPL","ts":1748871000000,'
        b'"price":250.12,"size":100.0}'
    )
    assert encode_quote(heartbeat) == (
        b'{"schema_version":1,"type":"heartbeat","symbol":"AAPL","ts":1748871060000}'
    )
    assert decode_quote(b"AAPL", encode_quote(trade)) == trade
    assert decode_quote(b"AAPL", encode_quote(heartbeat)) == heartbeat
    integer_size = b'{"schema_version":1,"type":"trade","symbol":"BTC","ts":5,"price":7,"size":0}'
    assert decode_quote(b"BTC", integer_size) == Quote("trade", "BTC", 5, 7.0, 0.0)


TRADE = '"type":"trade","symbol":"AAPL","ts":1'


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (b"AAPL", None, "empty message value"),
        (b"AAPL", b"\xff", "not UTF-8 JSON"),
        (b"AAPL", b"{", "not UTF-8 JSON"),
        (b"AAPL", b"[1]", "value must be a JSON object"),
        (b"AAPL", b'{"schema_version":2}', "schema_version 2 is not 1"),
        (b"AAPL", b'{"schema_version":1,"type":"bar"}', "type 'bar' is not one of"),
        (
            b"AAPL",
            f'{{"schema_version":1,{TRADE},"price":1,"extra":0}}'.encode(),
            "trade keys: missing ['size'], unexpected ['extra']",
        ),
        (b"MSFT", f'{{"schema_version":1,{TRADE},"price":1,"size":1}}'.encode(), "is not the"),
        (None, f'{{"schema_version":1,{TRADE},"price":1,"size":1}}'.encode(), "is not the"),
        (
            b"AAPL",
            b'{"schema_version":1,"type":"trade","symbol":"AAPL","ts":1.5,"price":1,"size":1}',
            "ts must be integer epoch milliseconds",
        ),
        (
            b"AAPL",
            f'{{"schema_version":1,{TRADE},"price":0,"size":1}}'.encode(),
            "price must be > 0",
        ),
        (
            b"AAPL",
            f'{{"schema_version":1,{TRADE},"price":1,"size":-1}}'.encode(),
            "size must be >= 0",
        ),
        (
            b"AAPL",
            f'{{"schema_version":1,{TRADE},"price":NaN,"size":1}}'.encode(),
            "price must be a finite number",
        ),
        (
            b"AAPL",
            f'{{"schema_version":1,{TRADE},"price":true,"size":1}}'.encode(),
            "price must be a finite number",
        ),
    ],
)
def test_invalid_messages_are_rejected_with_their_reason(
    key: bytes | None, value: bytes | None, reason: str
) -> None:
    with pytest.raises(InvalidMessageError) as raised:
        decode_quote(key, value)
    assert reason in str(raised.value)
