"""The records captured from OB-USP-Agent 11.0.4 decode to what their .txt files show.

* Part 1 of each .txt (text format of ``usp_record.Record``) equals the decoded
  ``.bin`` and re-encodes to it byte for byte, through protobuf and through our
  typed layer.
* Part 2 (the payload as ``usp.Msg``) equals the decoded payload, and our typed
  decode equals the structure written out here by hand from the .txt.
* The copies in tests/usp/vectors equal shared/usp/vectors wherever that exists.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import text_format

from doorstep.usp import (
    Event,
    Get,
    GetPathResult,
    GetResp,
    MqttConnect,
    MqttVersion,
    Msg,
    NoSessionContext,
    Notify,
    Record,
    ResolvedPath,
    decode_msg,
    encode_msg,
    encode_record,
    parse_record,
)
from doorstep.usp.proto import usp_msg_pb2, usp_record_pb2
from tests.usp.reference import SHARED_USP

VECTORS = Path(__file__).resolve().parent / "vectors"
NAMES = ["mqtt-connect-record", "boot-notify-record", "get-record", "get-resp-record"]
AGENT, CONTROLLER = "proto::obuspa-test-1", "self::hearth-controller"


def vector(name: str) -> bytes:
    """The bytes of ``vectors/<name>.bin``."""
    return (VECTORS / f"{name}.bin").read_bytes()


def _parts(name: str) -> tuple[str, str | None]:
    text = (VECTORS / f"{name}.txt").read_text(encoding="utf-8")
    marker = next((line for line in text.splitlines() if line.startswith("# === part 2")), None)
    if marker is None:
        return text, None
    part1, part2 = text.split(marker, 1)
    return part1, part2


EXPECTED: dict[str, Msg | MqttConnect] = {
    "mqtt-connect-record": MqttConnect(MqttVersion.V5, "usp/agent/obuspa-test-1"),
    "boot-notify-record": Msg(
        "Event-2026-11-22T20:44:49Z-1",
        Notify(
            "boot-1",
            Event(
                "Device.",
                "Boot!",
                {
                    "CommandKey": "",
                    "Cause": "LocalFactoryReset",
                    "Reason": "Unknown",
                    "FirmwareUpdated": "false",
                    "ParameterMap": "{}",
                },
            ),
            send_resp=False,
        ),
    ),
    "get-record": Msg(
        "hearth-get-1", Get(("Device.DeviceInfo.", "Device.LocalAgent.EndpointID"), 0)
    ),
    "get-resp-record": Msg(
        "hearth-get-1",
        GetResp(
            (
                GetPathResult(
                    "Device.DeviceInfo.",
                    0,
                    "",
                    (
                        ResolvedPath(
                            "Device.DeviceInfo.",
                            {
                                "SoftwareVersion": "",
                                "ProductClass": "USP Agent",
                                "Manufacturer": "Manufacturer",
                                "ModelName": "USP Agent",
                                "HardwareVersion": "",
                                "UpTime": "459",
                                "ManufacturerOUI": "012345",
                                "SerialNumber": "000000000000",
                            },
                        ),
                    ),
                ),
                GetPathResult(
                    "Device.LocalAgent.EndpointID",
                    0,
                    "",
                    (ResolvedPath("Device.LocalAgent.", {"EndpointID": AGENT}),),
                ),
            )
        ),
    ),
}


@pytest.mark.parametrize("name", NAMES)
def test_part_1_equals_the_bin_and_re_encodes_byte_for_byte(name: str) -> None:
    part1, _ = _parts(name)
    from_text = text_format.Parse(part1, usp_record_pb2.Record())
    data = vector(name)
    assert usp_record_pb2.Record.FromString(data) == from_text
    assert from_text.SerializeToString() == data


@pytest.mark.parametrize("name", [n for n in NAMES if n != "mqtt-connect-record"])
def test_part_2_equals_the_decoded_payload(name: str) -> None:
    _, part2 = _parts(name)
    assert part2 is not None
    record = usp_record_pb2.Record.FromString(vector(name))
    payload = record.no_session_context.payload
    assert usp_msg_pb2.Msg.FromString(payload) == text_format.Parse(part2, usp_msg_pb2.Msg())


@pytest.mark.parametrize("name", NAMES)
def test_typed_decode_shows_what_the_txt_shows(name: str) -> None:
    data = vector(name)
    record = parse_record(data, max_size=len(data))
    direction = (AGENT, CONTROLLER) if name == "get-record" else (CONTROLLER, AGENT)
    assert (record.to_id, record.from_id, record.version) == (*direction, "1.3")
    expected = EXPECTED[name]
    if isinstance(expected, Msg):
        assert record.msg == expected
    else:
        assert record.body == expected
    assert encode_record(record) == data


@pytest.mark.parametrize("name", [n for n in NAMES if n != "mqtt-connect-record"])
def test_typed_encode_gives_the_same_message(name: str) -> None:
    """Our encoding of the typed Msg decodes to the captured one (map order may differ)."""
    expected = EXPECTED[name]
    assert isinstance(expected, Msg)
    record = usp_record_pb2.Record.FromString(vector(name))
    captured = usp_msg_pb2.Msg.FromString(record.no_session_context.payload)
    ours = encode_msg(expected)
    assert usp_msg_pb2.Msg.FromString(ours) == captured
    assert decode_msg(ours) == expected


def test_the_get_request_encodes_byte_for_byte_from_typed_values() -> None:
    """No map in it, so our whole Record equals the captured controller's, byte for byte."""
    expected = EXPECTED["get-record"]
    assert isinstance(expected, Msg)
    record = Record(AGENT, CONTROLLER, NoSessionContext.of(expected))
    assert encode_record(record) == vector("get-record")


def test_the_mqtt_connect_records_of_v5_and_v3_1_1() -> None:
    v5 = Record(CONTROLLER, AGENT, MqttConnect(MqttVersion.V5, "usp/agent/obuspa-test-1"))
    assert encode_record(v5) == vector("mqtt-connect-record")
    v311 = encode_record(
        Record(CONTROLLER, AGENT, MqttConnect(MqttVersion.V3_1_1, "usp/agent/obuspa-test-1"))
    )
    # "identical except that mqtt_connect.version (V3_1_1 = 0) is absent"
    assert len(v311) == 79
    assert v311 == vector("mqtt-connect-record")[:-29] + b"\x52\x19\x12\x17usp/agent/obuspa-test-1"


def test_the_get_resp_reads_as_parameters_by_object() -> None:
    data = vector("get-resp-record")
    msg = parse_record(data, max_size=4096).msg
    assert msg is not None
    assert isinstance(msg.body, GetResp)
    assert msg.body.params["Device.LocalAgent."] == {"EndpointID": AGENT}
    assert msg.body.values["Device.DeviceInfo.SerialNumber"] == "000000000000"
    assert msg.body.params["Device.DeviceInfo."]["SoftwareVersion"] == ""
    assert msg.body.failures == {}


def test_the_local_copies_equal_the_shared_vectors() -> None:
    """Checked wherever shared/usp/vectors exists (it does beside every clone and in CI)."""
    shared = SHARED_USP / "vectors"
    if not shared.is_dir():
        return
    ours = {p.name: p.read_bytes() for p in VECTORS.iterdir()}
    theirs = {p.name: p.read_bytes() for p in shared.iterdir()}
    assert ours == theirs
