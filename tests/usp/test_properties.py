"""Properties: malformed input never crashes the decoder, and encoding round-trips.

``parse_record`` on any input either returns a :class:`Record` or raises
:class:`UspDecodeError` with a USP Record error code; no other exception escapes
(random bytes, every prefix of the captured records, mutated records, well-formed
protobuf of random shape as a Record or as a payload, oversized input).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from doorstep import usp
from doorstep.usp import RecordErrorCode, UspDecodeError, decode_msg, encode_msg
from tests.usp import strategies as s
from tests.usp.test_vectors import NAMES, vector

MAX = 64 * 1024
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RECORD_CODES = {int(code) for code in RecordErrorCode}


def parses_or_refuses(data: bytes, max_size: int = MAX) -> usp.Record | None:
    """parse_record's contract: a Record, or UspDecodeError with a Record error code."""
    try:
        record = usp.parse_record(data, max_size=max_size)
    except UspDecodeError as error:
        assert error.usp_code in RECORD_CODES
        return None
    assert isinstance(record, usp.Record)
    again = usp.encode_record(record)  # whatever we accept, we can send on faithfully
    assert usp.parse_record(again, max_size=len(again)) == record
    return record


@FUZZ
@given(st.binary(max_size=300))
@example(b"")
@example(b"\x4a\x00")
@example(b"\x3a\x00")
def test_random_bytes_parse_or_are_refused(data: bytes) -> None:
    parses_or_refuses(data)


@pytest.mark.parametrize("name", NAMES)
def test_every_prefix_of_a_captured_record_parses_or_is_refused(name: str) -> None:
    data = vector(name)
    for end in range(len(data)):
        parses_or_refuses(data[:end])


@FUZZ
@given(
    st.sampled_from(NAMES),
    st.lists(
        st.tuples(
            st.sampled_from(["flip", "insert", "delete"]), st.integers(0), st.integers(0, 255)
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_captured_records_parse_or_are_refused(
    name: str, edits: list[tuple[str, int, int]]
) -> None:
    data = bytearray(vector(name))
    for op, where, byte in edits:
        at = where % (len(data) + 1)
        if op == "insert":
            data.insert(at, byte)
        elif data and at < len(data):
            if op == "flip":
                data[at] ^= byte or 1
            else:
                del data[at]
    parses_or_refuses(bytes(data))


@FUZZ
@given(s.wire_messages)
def test_well_formed_protobuf_of_random_shape_parses_or_is_refused(data: bytes) -> None:
    parses_or_refuses(data)


@FUZZ
@given(s.wire_messages | st.binary(max_size=200))
def test_any_payload_in_a_valid_record_parses_or_is_refused(payload: bytes) -> None:
    header = (
        s.wire_field(1, b"1.3")
        + s.wire_field(2, b"self::hearth-controller")
        + s.wire_field(3, b"proto::obuspa-test-1")
    )
    record = parses_or_refuses(header + s.wire_field(7, s.wire_field(2, payload)))
    if record is not None:
        assert isinstance(record.msg, usp.Msg)


@FUZZ
@given(s.wire_messages | st.binary(max_size=200))
def test_decode_msg_returns_a_msg_or_refuses(payload: bytes) -> None:
    try:
        msg = decode_msg(payload)
    except UspDecodeError as error:
        assert error.usp_code in {7100, 7104}
    else:
        assert msg.msg_id
        assert msg.msg_type == msg.body.MSG_TYPE


@given(st.binary(min_size=1, max_size=64), st.integers(0, 63))
def test_oversized_input_is_refused_before_parsing(data: bytes, limit: int) -> None:
    if len(data) <= limit:
        return
    with pytest.raises(UspDecodeError) as caught:
        usp.parse_record(data, max_size=limit)
    assert caught.value.usp_code == RecordErrorCode.NOT_PARSED


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s.msgs)
def test_msgs_round_trip(msg: usp.Msg) -> None:
    assert decode_msg(encode_msg(msg)) == msg


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s.records())
def test_records_round_trip(record: usp.Record) -> None:
    data = usp.encode_record(record)
    assert usp.parse_record(data, max_size=len(data)) == record
    assert usp.encode_record(usp.parse_record(data, max_size=len(data))) == data
