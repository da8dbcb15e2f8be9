"""USP Records: the unit on the wire, with ``to_id``, ``from_id`` and one record type.

* :func:`parse_record` turns untrusted bytes into a typed :class:`Record` or raises
  :class:`~doorstep.usp.exceptions.UspDecodeError` carrying the USP Record error
  code; it never raises anything else.
* :func:`encode_record` serializes a Record; :func:`wrap` puts a Msg into a
  ``no_session_context`` Record, and :func:`websocket_connect`, :func:`mqtt_connect`,
  :func:`stomp_connect`, :func:`uds_connect` and :func:`disconnect` build the others.
* Doorstep speaks ``no_session_context`` only.  A received ``session_context`` Record
  is decoded (so it can be answered) and :func:`refusal` builds the answer OB-USP-Agent
  gives too: a DisconnectRecord 7106 (or 7102 for an end-to-end TLS payload).

A parsed Record keeps the payload bytes it carried, so it re-encodes byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TypeVar

from google.protobuf.message import DecodeError

from doorstep.usp._decode import decode_msg
from doorstep.usp._encode import encode_msg
from doorstep.usp._msg import Msg
from doorstep.usp._wire import count_top_level_fields
from doorstep.usp.codes import RecordErrorCode
from doorstep.usp.endpoint import EndpointId, is_valid_endpoint_id
from doorstep.usp.exceptions import UspDecodeError, UspEncodeError
from doorstep.usp.proto import usp_record_pb2 as pb

DEFAULT_VERSION = "1.3"
"""``Record.version`` we send: what OB-USP-Agent 11.0.4 sends and accepts (see ADR 0008)."""

DEFAULT_MAX_RECORD_SIZE = 64 * 1024
"""A sensible ``max_size`` for :func:`parse_record`; MTPs may configure their own."""

_E = TypeVar("_E", bound=IntEnum)
_VERSION = re.compile(r"1\.[0-9]{1,3}")
_RECORD_TYPE_FIELDS = range(7, 14)


class PayloadSecurity(IntEnum):
    """How a session-context payload is protected; Doorstep only speaks PLAINTEXT."""

    PLAINTEXT = 0
    TLS12 = 1


class MqttVersion(IntEnum):
    """The MQTT version of the connection a MQTTConnectRecord was sent on."""

    V3_1_1 = 0
    V5 = 1


class StompVersion(IntEnum):
    """The STOMP version of a STOMPConnectRecord."""

    V1_2 = 0


@dataclass(frozen=True, slots=True)
class NoSessionContext:
    """A Record carrying one Msg: ``payload`` is its exact bytes, ``msg`` its typed form.

    Build one with :meth:`of` so that the two agree.
    """

    payload: bytes = field(repr=False)
    msg: Msg

    @classmethod
    def of(cls, msg: Msg) -> NoSessionContext:
        """Encode ``msg`` into a payload."""
        return cls(encode_msg(msg), msg)


@dataclass(frozen=True, slots=True)
class SessionContext:
    """A session-context Record (decoded only, to be refused)."""

    session_id: int = 0
    sequence_id: int = 0
    expected_id: int = 0
    retransmit_id: int = 0
    payload_sar_state: int = 0
    payloadrec_sar_state: int = 0
    payload: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class WebSocketConnect:
    """Sent by an Agent first on a new WebSocket session (empty; ``4A 00`` on the wire)."""


@dataclass(frozen=True, slots=True)
class MqttConnect:
    """Sent first on MQTT; ``subscribed_topic`` is where the sender listens."""

    version: MqttVersion
    subscribed_topic: str


@dataclass(frozen=True, slots=True)
class StompConnect:
    """Sent first on STOMP; ``subscribed_destination`` is where the sender listens."""

    subscribed_destination: str
    version: StompVersion = StompVersion.V1_2


@dataclass(frozen=True, slots=True)
class UdsConnect:
    """Sent first on a Unix domain socket (empty; ``6A 00`` on the wire)."""


@dataclass(frozen=True, slots=True)
class Disconnect:
    """The sender ends the conversation; ``reason_code`` is a Record error code or 0."""

    reason: str = ""
    reason_code: int = 0


RecordBody = (
    NoSessionContext
    | SessionContext
    | WebSocketConnect
    | MqttConnect
    | StompConnect
    | UdsConnect
    | Disconnect
)


@dataclass(frozen=True, slots=True)
class Record:
    """One USP Record.  ``mac_signature`` and ``sender_cert`` are carried, not checked.

    The ``repr`` of a Record or Msg shows parameter values, which may be personal
    data: log ``kind``, ``msg.msg_type`` and ids, never the object.
    """

    to_id: str
    from_id: str
    body: RecordBody
    version: str = DEFAULT_VERSION
    payload_security: PayloadSecurity = PayloadSecurity.PLAINTEXT
    mac_signature: bytes = b""
    sender_cert: bytes = b""

    @property
    def msg(self) -> Msg | None:
        """The Msg of a ``no_session_context`` Record, else None."""
        return self.body.msg if isinstance(self.body, NoSessionContext) else None

    @property
    def kind(self) -> str:
        """The record type's name (``"NoSessionContext"`` …): safe to log, unlike ``repr``."""
        return type(self.body).__name__


def parse_record(data: bytes, *, max_size: int) -> Record:
    """Decode and validate untrusted bytes into a :class:`Record`.

    Refused with :class:`UspDecodeError`: more than ``max_size`` bytes or bytes that do
    not parse (7100); no record type or more than one on the wire, a ``version`` that
    is not ``1.<minor>``, a ``to_id`` or ``from_id`` that is not a valid Endpoint ID, an
    unknown enum value, or a payload that is not a valid Msg (7104, or 7100 when the
    payload does not parse); an end-to-end TLS payload outside a session context (7102).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise UspDecodeError(RecordErrorCode.NOT_PARSED, "record is not bytes")
    data = bytes(data)
    if len(data) > max_size:
        raise UspDecodeError(RecordErrorCode.NOT_PARSED, f"record exceeds {max_size} bytes")
    try:
        record = pb.Record.FromString(data)
    except DecodeError:
        raise UspDecodeError(RecordErrorCode.NOT_PARSED, "bytes are not a USP Record") from None
    kind = record.WhichOneof("record_type")
    if kind is None:
        raise _invalid("Record has no record type")
    if count_top_level_fields(data, _RECORD_TYPE_FIELDS) != 1:
        raise _invalid("Record has more than one record type")
    if not _VERSION.fullmatch(record.version):
        raise _invalid("Record version is not 1.<minor>")
    if not is_valid_endpoint_id(record.to_id):
        raise _invalid("Record to_id is not a valid Endpoint ID")
    if not is_valid_endpoint_id(record.from_id):
        raise _invalid("Record from_id is not a valid Endpoint ID")
    security = _enum(PayloadSecurity, record.payload_security, "payload_security")
    return Record(
        record.to_id,
        record.from_id,
        _body(record, kind, security),
        record.version,
        security,
        record.mac_signature,
        record.sender_cert,
    )


def _body(record: pb.Record, kind: str, security: PayloadSecurity) -> RecordBody:
    if kind == "no_session_context":
        if security is not PayloadSecurity.PLAINTEXT:
            raise UspDecodeError(
                RecordErrorCode.SECURE_SESSION_NOT_SUPPORTED, "TLS12 payload needs a session"
            )
        payload = record.no_session_context.payload
        return NoSessionContext(payload, decode_msg(payload))
    if kind == "session_context":
        s = record.session_context
        return SessionContext(
            s.session_id,
            s.sequence_id,
            s.expected_id,
            s.retransmit_id,
            s.payload_sar_state,
            s.payloadrec_sar_state,
            tuple(s.payload),
        )
    if kind == "mqtt_connect":
        return MqttConnect(
            _enum(MqttVersion, record.mqtt_connect.version, "mqtt_connect.version"),
            record.mqtt_connect.subscribed_topic,
        )
    if kind == "stomp_connect":
        return StompConnect(
            record.stomp_connect.subscribed_destination,
            _enum(StompVersion, record.stomp_connect.version, "stomp_connect.version"),
        )
    if kind == "disconnect":
        return Disconnect(record.disconnect.reason, record.disconnect.reason_code)
    return WebSocketConnect() if kind == "websocket_connect" else UdsConnect()


def encode_record(record: Record) -> bytes:
    """Serialize ``record``; its ids and version are checked first (UspEncodeError)."""
    if not _VERSION.fullmatch(record.version):
        raise UspEncodeError("Record version must be 1.<minor>")
    for name, value in (("to_id", record.to_id), ("from_id", record.from_id)):
        if not is_valid_endpoint_id(value):
            raise UspEncodeError(f"Record {name} is not a valid Endpoint ID")
    out = pb.Record(
        version=record.version,
        to_id=record.to_id,
        from_id=record.from_id,
        payload_security=pb.Record.PayloadSecurity.ValueType(int(record.payload_security)),
        mac_signature=record.mac_signature,
        sender_cert=record.sender_cert,
    )
    body = record.body
    try:
        match body:
            case NoSessionContext():
                out.no_session_context.payload = body.payload
                out.no_session_context.SetInParent()
            case SessionContext():
                out.session_context.MergeFrom(_session_context(body))
                out.session_context.SetInParent()
            case WebSocketConnect():
                out.websocket_connect.SetInParent()
            case MqttConnect():
                out.mqtt_connect.SetInParent()
                out.mqtt_connect.version = pb.MQTTConnectRecord.MQTTVersion.ValueType(
                    int(body.version)
                )
                out.mqtt_connect.subscribed_topic = body.subscribed_topic
            case StompConnect():
                out.stomp_connect.SetInParent()
                out.stomp_connect.version = pb.STOMPConnectRecord.STOMPVersion.ValueType(
                    int(body.version)
                )
                out.stomp_connect.subscribed_destination = body.subscribed_destination
            case UdsConnect():
                out.uds_connect.SetInParent()
            case Disconnect():
                out.disconnect.SetInParent()
                out.disconnect.reason = body.reason
                out.disconnect.reason_code = body.reason_code
        return out.SerializeToString()
    except (ValueError, TypeError, UnicodeError):
        raise UspEncodeError(f"a field of {type(body).__name__} cannot be encoded") from None


def wrap(
    msg: Msg, *, to_id: str | EndpointId, from_id: str | EndpointId, version: str = DEFAULT_VERSION
) -> Record:
    """A ``no_session_context`` Record carrying ``msg``."""
    return Record(str(to_id), str(from_id), NoSessionContext.of(msg), version)


def websocket_connect(*, to_id: str | EndpointId, from_id: str | EndpointId) -> Record:
    """The WebSocketConnectRecord an Agent sends when a WebSocket session opens."""
    return Record(str(to_id), str(from_id), WebSocketConnect())


def mqtt_connect(
    *,
    to_id: str | EndpointId,
    from_id: str | EndpointId,
    version: MqttVersion,
    subscribed_topic: str,
) -> Record:
    """The MQTTConnectRecord sent after connecting and subscribing to ``subscribed_topic``."""
    return Record(str(to_id), str(from_id), MqttConnect(version, subscribed_topic))


def stomp_connect(
    *, to_id: str | EndpointId, from_id: str | EndpointId, subscribed_destination: str
) -> Record:
    """The STOMPConnectRecord (STOMP 1.2)."""
    return Record(str(to_id), str(from_id), StompConnect(subscribed_destination))


def uds_connect(*, to_id: str | EndpointId, from_id: str | EndpointId) -> Record:
    """The UDSConnectRecord sent on a new Unix domain socket connection."""
    return Record(str(to_id), str(from_id), UdsConnect())


def disconnect(
    *, to_id: str | EndpointId, from_id: str | EndpointId, reason_code: int, reason: str = ""
) -> Record:
    """A DisconnectRecord; ``reason`` is sent to the peer, so keep personal data out of it."""
    return Record(str(to_id), str(from_id), Disconnect(reason, int(reason_code)))


def refusal(received: Record, *, own_id: str | EndpointId) -> Record | None:
    """The DisconnectRecord Doorstep answers ``received`` with, or None if it is acceptable.

    An end-to-end TLS payload gets 7102 (secure session not supported), a
    ``session_context`` Record 7106 (session context not allowed), as OB-USP-Agent
    answers them.
    """
    if received.payload_security is PayloadSecurity.TLS12:
        code = RecordErrorCode.SECURE_SESSION_NOT_SUPPORTED
        return _answer(received, own_id, code, "secure session not supported")
    if isinstance(received.body, SessionContext):
        return session_context_refusal(received, own_id=own_id)
    return None


def session_context_refusal(received: Record, *, own_id: str | EndpointId) -> Record:
    """The DisconnectRecord 7106 (session context not allowed) to the sender of ``received``."""
    code = RecordErrorCode.SESSION_CONTEXT_NOT_ALLOWED
    return _answer(received, own_id, code, "session context not allowed")


def _answer(received: Record, own_id: str | EndpointId, code: int, reason: str) -> Record:
    """A DisconnectRecord to the sender of ``received``, in the sender's Record version."""
    return Record(received.from_id, str(own_id), Disconnect(reason, code), received.version)


def _session_context(body: SessionContext) -> pb.SessionContextRecord:
    state = pb.SessionContextRecord.PayloadSARState.ValueType
    return pb.SessionContextRecord(
        session_id=body.session_id,
        sequence_id=body.sequence_id,
        expected_id=body.expected_id,
        retransmit_id=body.retransmit_id,
        payload_sar_state=state(body.payload_sar_state),
        payloadrec_sar_state=state(body.payloadrec_sar_state),
        payload=body.payload,
    )


def _invalid(reason: str) -> UspDecodeError:
    return UspDecodeError(RecordErrorCode.INVALID_RECORD_VALUE, reason)


def _enum(cls: type[_E], value: int, name: str) -> _E:
    try:
        return cls(value)
    except ValueError:
        raise _invalid(f"Record {name} has an unknown value") from None
