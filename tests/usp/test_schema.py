"""The protobuf schema is exactly the one the wire reference states, and is up to date.

Every message, field number, field name, type (fixed32 is not uint32), label, map
and oneof membership of the generated descriptors is held against the schema
notation of the reference (shared/usp/README.md, copied to wire-reference.md), and
the reverse: nothing extra in ours.  The bytes a few critical encodings produce
are pinned as the reference gives them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from doorstep.usp.proto import usp_msg_pb2, usp_record_pb2
from tests.usp.reference import LOCAL_REFERENCE, SHARED_USP, Field, read_schema

PROTO_DIR = Path(usp_msg_pb2.__file__).resolve().parent

_SCALAR_TYPES = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_UINT32: "uint32",
    FieldDescriptor.TYPE_UINT64: "uint64",
    FieldDescriptor.TYPE_FIXED32: "fixed32",
}


def _all_messages(descriptors: dict[str, Descriptor]) -> dict[str, Descriptor]:
    out: dict[str, Descriptor] = {}
    stack = list(descriptors.values())
    while stack:
        message = stack.pop()
        if message.GetOptions().map_entry:
            continue
        out[message.full_name] = message
        stack.extend(message.nested_types)
    return out


def _all_enums(messages: dict[str, Descriptor]) -> dict[str, EnumDescriptor]:
    return {e.full_name: e for m in messages.values() for e in m.enum_types}


MESSAGES = _all_messages(
    {
        **usp_record_pb2.DESCRIPTOR.message_types_by_name,
        **usp_msg_pb2.DESCRIPTOR.message_types_by_name,
    }
)


def _as_reference(f: FieldDescriptor) -> Field:
    if f.type == FieldDescriptor.TYPE_MESSAGE and f.message_type.GetOptions().map_entry:
        key, value = f.message_type.fields_by_name["key"], f.message_type.fields_by_name["value"]
        assert (key.number, value.number) == (1, 2)
        assert key.type == value.type == FieldDescriptor.TYPE_STRING
        type_name, repeated = "map", False
    elif f.type == FieldDescriptor.TYPE_MESSAGE:
        type_name, repeated = f.message_type.full_name, f.is_repeated
    elif f.type == FieldDescriptor.TYPE_ENUM:
        type_name, repeated = f.enum_type.full_name, f.is_repeated
    else:
        type_name, repeated = _SCALAR_TYPES[f.type], f.is_repeated
    oneof = f.containing_oneof.name if f.containing_oneof is not None else None
    return Field(f.number, f.name, type_name, repeated, oneof)


REFERENCE = read_schema(LOCAL_REFERENCE)


def test_every_message_of_the_reference_exists_and_nothing_else() -> None:
    assert sorted(MESSAGES) == sorted(REFERENCE.messages)


@pytest.mark.parametrize("name", sorted(REFERENCE.messages))
def test_fields_match_the_reference_exactly(name: str) -> None:
    ours = sorted((_as_reference(f) for f in MESSAGES[name].fields), key=lambda f: f.number)
    theirs = sorted(REFERENCE.messages[name], key=lambda f: f.number)
    assert ours == theirs


def test_enums_match_the_reference_exactly() -> None:
    enums = _all_enums(MESSAGES)
    assert sorted(enums) == sorted(REFERENCE.enums)
    for name, values in REFERENCE.enums.items():
        assert {v.name: v.number for v in enums[name].values} == values, name


def test_both_files_are_proto3_with_the_reference_packages() -> None:
    assert usp_record_pb2.DESCRIPTOR.package == "usp_record"
    assert usp_msg_pb2.DESCRIPTOR.package == "usp"
    for descriptor in (usp_record_pb2.DESCRIPTOR, usp_msg_pb2.DESCRIPTOR):
        assert 'syntax = "proto3";' in (PROTO_DIR / Path(descriptor.name).name).read_text()


def test_generated_modules_are_from_the_committed_proto_files() -> None:
    """regenerate.sh records the .proto hashes; editing a .proto without it fails here."""
    recorded = dict(
        reversed(line.split()) for line in (PROTO_DIR / "SOURCES.sha256").read_text().splitlines()
    )
    for name in ("usp_record.proto", "usp_msg.proto"):
        assert hashlib.sha256((PROTO_DIR / name).read_bytes()).hexdigest() == recorded[name]


def test_the_local_reference_copy_equals_the_shared_one() -> None:
    """wire-reference.md is a copy of shared/usp/README.md, checked wherever shared/ exists."""
    shared = SHARED_USP / "README.md"
    if shared.exists():
        assert LOCAL_REFERENCE.read_bytes() == shared.read_bytes()


def test_pinned_encodings() -> None:
    record = usp_record_pb2.Record
    assert record(
        websocket_connect=usp_record_pb2.WebSocketConnectRecord()
    ).SerializeToString() == (b"\x4a\x00")
    assert record(uds_connect=usp_record_pb2.UDSConnectRecord()).SerializeToString() == b"\x6a\x00"
    assert usp_record_pb2.NoSessionContextRecord(payload=b"x").SerializeToString() == b"\x12\x01x"
    # fixed32: wire type 5, four little-endian bytes
    assert usp_msg_pb2.Error(err_code=7004).SerializeToString() == b"\x0d\x5c\x1b\x00\x00"
    assert usp_record_pb2.DisconnectRecord(reason_code=7106).SerializeToString() == (
        b"\x15\xc2\x1b\x00\x00"
    )
    assert usp_msg_pb2.Get(max_depth=2).SerializeToString() == b"\x15\x02\x00\x00\x00"
