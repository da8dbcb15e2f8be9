"""parse_record's validation and error codes, the Record builders, and refusals."""

from __future__ import annotations

import pytest

from doorstep import usp
from doorstep.core.errors import InvalidInputError
from doorstep.usp import RecordErrorCode, UspDecodeError, UspEncodeError, records
from doorstep.usp.proto import usp_msg_pb2, usp_record_pb2

AGENT, CONTROLLER = "proto::obuspa-test-1", "self::hearth-controller"
GET = usp.messages.get("m-1", "Device.DeviceInfo.")


def raw(**fields: object) -> bytes:
    """A serialized Record built field by field with protobuf (may be invalid on purpose)."""
    base: dict[str, object] = {"version": "1.3", "to_id": CONTROLLER, "from_id": AGENT}
    base.update(fields)
    return usp_record_pb2.Record(**base).SerializeToString()  # type: ignore[arg-type]


def nsc(payload: bytes) -> usp_record_pb2.NoSessionContextRecord:
    return usp_record_pb2.NoSessionContextRecord(payload=payload)


def refused(data: object, code: int, max_size: int = 4096) -> UspDecodeError:
    with pytest.raises(UspDecodeError) as caught:
        usp.parse_record(data, max_size=max_size)  # type: ignore[arg-type]
    assert caught.value.usp_code == code, caught.value.reason
    return caught.value


def test_a_valid_record_parses() -> None:
    data = raw(no_session_context=nsc(usp.encode_msg(GET)))
    record = usp.parse_record(data, max_size=len(data))
    assert record.msg == GET
    assert record.kind == "NoSessionContext"


def test_bytearray_and_memoryview_are_accepted() -> None:
    data = raw(websocket_connect=usp_record_pb2.WebSocketConnectRecord())
    assert usp.parse_record(bytearray(data), max_size=100).body == usp.WebSocketConnect()
    assert usp.parse_record(memoryview(data), max_size=100).body == usp.WebSocketConnect()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("not bytes", 7100),
        (b"\xff\xff\xff", 7100),
        (b"\x12\x02\xc3\x28", 7100),  # to_id that is not UTF-8
        (b"", 7104),  # parses as an empty Record: no record type
    ],
)
def test_bytes_that_are_not_a_record(data: object, code: int) -> None:
    refused(data, code)


def test_size_limit_is_checked_first() -> None:
    data = raw(websocket_connect=usp_record_pb2.WebSocketConnectRecord())
    assert usp.parse_record(data, max_size=len(data)).body == usp.WebSocketConnect()
    error = refused(data, 7100, max_size=len(data) - 1)
    assert "exceeds" in error.reason


def test_record_without_record_type() -> None:
    refused(raw(), 7104)


def test_record_with_two_record_types_is_refused_not_guessed() -> None:
    ws = raw(websocket_connect=usp_record_pb2.WebSocketConnectRecord())
    uds = usp_record_pb2.Record(uds_connect=usp_record_pb2.UDSConnectRecord()).SerializeToString()
    assert usp_record_pb2.Record.FromString(ws + uds).WhichOneof("record_type") == "uds_connect"
    refused(ws + uds, 7104)
    refused(ws + b"\x4a\x00", 7104)  # the same record type twice


@pytest.mark.parametrize("version", ["", "1", "1.3.1", "2.0", "v1.3", "1.x"])
def test_version_must_be_one_dot_minor(version: str) -> None:
    refused(raw(version=version, websocket_connect=usp_record_pb2.WebSocketConnectRecord()), 7104)


@pytest.mark.parametrize("field", ["to_id", "from_id"])
@pytest.mark.parametrize("value", ["", "controller", "bogus::x", "self::has space"])
def test_ids_are_required_and_valid(field: str, value: str) -> None:
    data = raw(**{field: value, "websocket_connect": usp_record_pb2.WebSocketConnectRecord()})
    refused(data, 7104)


def test_unknown_enum_values_are_invalid_record_values() -> None:
    ws = usp_record_pb2.WebSocketConnectRecord()
    refused(raw(payload_security=7, websocket_connect=ws), 7104)
    refused(raw(mqtt_connect=usp_record_pb2.MQTTConnectRecord(version=2)), 7104)
    refused(raw(stomp_connect=usp_record_pb2.STOMPConnectRecord(version=1)), 7104)


def test_tls_payload_outside_a_session_is_not_supported() -> None:
    data = raw(payload_security=1, no_session_context=nsc(usp.encode_msg(GET)))
    refused(data, RecordErrorCode.SECURE_SESSION_NOT_SUPPORTED)


def test_payload_that_is_not_a_msg() -> None:
    refused(raw(no_session_context=nsc(b"\xff\xff")), 7100)
    refused(raw(no_session_context=nsc(b"")), 7104)  # no header


@pytest.mark.parametrize(
    "msg",
    [
        usp_msg_pb2.Msg(body=usp_msg_pb2.Body(request=usp_msg_pb2.Request(get=usp_msg_pb2.Get()))),
        usp_msg_pb2.Msg(header=usp_msg_pb2.Header(msg_id="x", msg_type=1)),
        usp_msg_pb2.Msg(
            header=usp_msg_pb2.Header(msg_id="x", msg_type=2),
            body=usp_msg_pb2.Body(request=usp_msg_pb2.Request(get=usp_msg_pb2.Get())),
        ),
        usp_msg_pb2.Msg(
            header=usp_msg_pb2.Header(msg_id="x", msg_type=1),
            body=usp_msg_pb2.Body(request=usp_msg_pb2.Request()),
        ),
        usp_msg_pb2.Msg(
            header=usp_msg_pb2.Header(msg_id="x", msg_type=5),
            body=usp_msg_pb2.Body(
                response=usp_msg_pb2.Response(
                    set_resp=usp_msg_pb2.SetResp(
                        updated_obj_results=[
                            usp_msg_pb2.SetResp.UpdatedObjectResult(requested_path="Device.X.")
                        ]
                    )
                )
            ),
        ),
    ],
    ids=["no-msg-id", "no-body", "type-mismatch", "empty-request", "result-without-status"],
)
def test_msgs_that_parse_but_mean_nothing(msg: usp_msg_pb2.Msg) -> None:
    refused(raw(no_session_context=nsc(msg.SerializeToString())), 7104)


def test_errors_never_echo_the_input() -> None:
    secret = "Kids-iPad-of-Alice"
    cases = [
        raw(to_id=f"self::{secret} x", websocket_connect=usp_record_pb2.WebSocketConnectRecord()),
        raw(no_session_context=nsc(secret.encode() + b"\xff")),
        raw(
            no_session_context=nsc(
                usp_msg_pb2.Msg(header=usp_msg_pb2.Header(msg_id=secret)).SerializeToString()
            )
        ),
    ]
    for data in cases:
        with pytest.raises(UspDecodeError) as caught:
            usp.parse_record(data, max_size=4096)
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value.fields)
        assert caught.value.__cause__ is None


def test_decode_error_is_an_invalid_input_error() -> None:
    error = refused(b"\xff", 7100)
    assert isinstance(error, InvalidInputError)
    assert error.status == 422
    assert error.fields["usp_code"] == 7100
    assert error.fields["errors"] == [{"field": "record", "rule": error.reason}]


def test_session_context_is_decoded_and_refused_with_7106() -> None:
    session = usp_record_pb2.SessionContextRecord(
        session_id=9, sequence_id=1, expected_id=1, payload=[usp.encode_msg(GET)]
    )
    record = usp.parse_record(raw(version="1.4", session_context=session), max_size=4096)
    assert isinstance(record.body, usp.SessionContext)
    assert record.body.session_id == 9
    answer = usp.refusal(record, own_id=CONTROLLER)
    assert answer == usp.session_context_refusal(record, own_id=CONTROLLER)
    assert answer is not None
    assert (answer.to_id, answer.from_id, answer.version) == (AGENT, CONTROLLER, "1.4")
    assert answer.body == usp.Disconnect("session context not allowed", 7106)
    data = usp.encode_record(answer)
    assert b"\x15\xc2\x1b\x00\x00" in data  # reason_code 7106 as fixed32
    assert usp.parse_record(data, max_size=4096) == answer


def test_tls_session_context_is_refused_with_7102() -> None:
    session = usp_record_pb2.SessionContextRecord(session_id=1)
    record = usp.parse_record(raw(payload_security=1, session_context=session), max_size=4096)
    answer = usp.refusal(record, own_id=CONTROLLER)
    assert answer is not None
    assert isinstance(answer.body, usp.Disconnect)
    assert answer.body.reason_code == RecordErrorCode.SECURE_SESSION_NOT_SUPPORTED


def test_plain_records_need_no_refusal() -> None:
    assert usp.refusal(usp.wrap(GET, to_id=CONTROLLER, from_id=AGENT), own_id=CONTROLLER) is None


def test_connect_record_builders() -> None:
    ws = usp.encode_record(records.websocket_connect(to_id=CONTROLLER, from_id=AGENT))
    assert ws.endswith(b"\x4a\x00")
    uds = usp.encode_record(records.uds_connect(to_id=CONTROLLER, from_id=AGENT))
    assert uds.endswith(b"\x6a\x00")
    stomp = records.stomp_connect(to_id=CONTROLLER, from_id=AGENT, subscribed_destination="/q/a")
    assert usp.parse_record(usp.encode_record(stomp), max_size=4096) == stomp
    mqtt = records.mqtt_connect(
        to_id=CONTROLLER, from_id=AGENT, version=usp.MqttVersion.V5, subscribed_topic="t"
    )
    assert usp.parse_record(usp.encode_record(mqtt), max_size=4096).body == usp.MqttConnect(
        usp.MqttVersion.V5, "t"
    )
    bye = records.disconnect(to_id=CONTROLLER, from_id=AGENT, reason_code=7105, reason="bye")
    assert usp.parse_record(usp.encode_record(bye), max_size=4096).body == usp.Disconnect(
        "bye", 7105
    )


def test_wrap_accepts_parsed_endpoint_ids() -> None:
    record = usp.wrap(
        GET,
        to_id=usp.parse_endpoint_id(AGENT),
        from_id=usp.parse_endpoint_id(CONTROLLER),
        version="1.4",
    )
    assert (record.to_id, record.from_id, record.version) == (AGENT, CONTROLLER, "1.4")
    assert record.body == usp.NoSessionContext(usp.encode_msg(GET), GET)


def test_encode_refuses_what_parse_would_refuse() -> None:
    with pytest.raises(UspEncodeError):
        usp.encode_record(usp.wrap(GET, to_id="nobody", from_id=AGENT))
    with pytest.raises(UspEncodeError):
        usp.encode_record(usp.wrap(GET, to_id=AGENT, from_id=CONTROLLER, version="2.0"))
    with pytest.raises(UspEncodeError) as caught:
        usp.encode_record(usp.Record(AGENT, CONTROLLER, usp.Disconnect("x", 2**32)))
    assert str(2**32) not in str(caught.value)


def test_repr_of_a_record_hides_the_payload_bytes() -> None:
    record = usp.wrap(GET, to_id=AGENT, from_id=CONTROLLER)
    assert "payload=" not in repr(record)


@pytest.mark.parametrize(
    ("data", "count"),
    [
        (b"\x4a\x00", 1),
        (b"\x3a\x00\x4a\x00", 2),
        (b"\x08\x96\x01\x4a\x00", 1),  # a multi-byte varint before it
        (b"\x0d\x01\x02\x03\x04\x11" + bytes(8) + b"\x4a\x00", 1),  # fixed32, fixed64
        (b"\xd2\x01\x00", 0),  # field 26: a two-byte key
        (b"\x4a", -1),  # cut inside the length
        (b"\x4a\x05ab", -1),  # cut inside the value
        (b"\x4a\x80", -1),  # cut inside a long length
        (b"\x08\x96", -1),  # cut inside a varint
        (b"\x0b\x0c", -1),  # a group: never USP, so give up
    ],
)
def test_top_level_field_count(data: bytes, count: int) -> None:
    from doorstep.usp._wire import count_top_level_fields

    assert count_top_level_fields(data, range(7, 14)) == count
