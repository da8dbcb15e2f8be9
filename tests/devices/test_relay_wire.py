"""The relay's payloads: under PostgreSQL's NOTIFY limit, in parts, joined in any order."""

from __future__ import annotations

import random
import secrets

from doorstep.devices import _relay_wire as wire

SENDER = "0123456789abcdef"


def test_a_small_message_is_one_payload_and_reads_back() -> None:
    (payload,) = wire.pack(wire.ANSWER, SENDER, 7, b"\x00\x01usp")
    part = wire.unpack(payload)
    assert part == wire.Part(wire.ANSWER, SENDER, 7, 0, 1, b"\x00\x01usp")
    assert wire.Reassembly(64 * 1024, 30).add(part) == b"\x00\x01usp"
    (empty,) = wire.pack(wire.OFFLINE, SENDER, 8, b"")
    assert wire.unpack(empty) == wire.Part(wire.OFFLINE, SENDER, 8, 0, 1, b"")


def test_a_long_message_goes_in_parts_under_the_limit_and_joins_in_any_order() -> None:
    data = secrets.token_bytes(60 * 1024)
    payloads = wire.pack(wire.REQUEST, SENDER, 12345678901, data)
    assert len(payloads) == -(-len(data) // wire.CHUNK) > 1
    assert all(len(p.encode()) <= wire.MAX_PAYLOAD for p in payloads)
    random.Random(7).shuffle(payloads)
    joined = wire.Reassembly(64 * 1024, 30)
    results = [joined.add(part) for part in map(wire.unpack, payloads) if part is not None]
    assert results[:-1] == [None] * (len(payloads) - 1)
    assert results[-1] == data
    assert len(joined) == 0


def test_messages_of_two_senders_with_the_same_number_stay_apart() -> None:
    first, second = secrets.token_bytes(9000), secrets.token_bytes(9000)
    joined = wire.Reassembly(64 * 1024, 30)
    a = [wire.unpack(p) for p in wire.pack(wire.REQUEST, "aaaa", 1, first)]
    b = [wire.unpack(p) for p in wire.pack(wire.REQUEST, "bbbb", 1, second)]
    assert None not in a and None not in b
    assert joined.add(a[0]) is None and joined.add(b[0]) is None  # type: ignore[arg-type]
    assert joined.add(b[1]) == second  # type: ignore[arg-type]
    assert joined.add(a[1]) == first  # type: ignore[arg-type]


def test_malformed_payloads_and_oversized_messages_are_dropped() -> None:
    for bad in (
        "",
        "x 1 2 0 1 AAAA",  # unknown kind
        f"q {SENDER} 1 0 1",  # a field short
        f"q {SENDER} one 0 1 AAAA",
        f"q {SENDER} 1 2 2 AAAA",  # part outside the message
        f"q {SENDER} 1 0 1 not*base64",
    ):
        assert wire.unpack(bad) is None, bad
    joined = wire.Reassembly(max_size=wire.CHUNK * 2, ttl=30)
    too_big = wire.pack(wire.ANSWER, SENDER, 1, secrets.token_bytes(wire.CHUNK * 4))
    assert all(joined.add(wire.unpack(p)) is None for p in too_big)  # type: ignore[arg-type]
    assert len(joined) == 0
    first = wire.unpack(wire.pack(wire.ANSWER, SENDER, 2, b"x" * (wire.CHUNK + 1))[0])
    assert first is not None and joined.add(first) is None
    clash = wire.Part(wire.ANSWER, SENDER, 2, 2, 3, b"y")  # another count, same message
    assert joined.add(clash) is None
