"""USP codec throughput: records decoded and encoded per second, in one process.

* decode: the captured GetResp Record (412 bytes) through ``parse_record`` — size and
  structure checks, the Record and Msg parsed by protobuf (upb), the typed
  dataclasses built — and read as ``{object: {param: value}}``.  The baseline is
  protobuf alone parsing the Record and its payload without reading a field (upb
  builds Python objects lazily), so the ratio is the price of validation, of
  reading every field and of typing.  Decoded once from one agent (every Endpoint ID
  check hits the cache) and once round-robin from twice as many agents as the
  Endpoint-ID cache holds (every sender's check misses), against the first.
* encode: a controller's Get (two paths) built, typed Msg encoded, wrapped in a
  Record and serialized; and the agent's GetResp encoded from its typed form.

The database the harness provides is not used.
"""

from __future__ import annotations

from pathlib import Path

from bench.harness import BenchContext, Figure, per_second
from doorstep import usp
from doorstep.usp import messages
from doorstep.usp.endpoint import is_valid_endpoint_id
from doorstep.usp.proto import usp_msg_pb2, usp_record_pb2

VECTOR = Path(__file__).resolve().parents[1] / "tests" / "usp" / "vectors" / "get-resp-record.bin"
AGENT, CONTROLLER = "proto::obuspa-test-1", "self::hearth-controller"
TARGET = ">= 10,000/s"


def run(ctx: BenchContext) -> list[Figure]:
    """Decode and encode rates of USP Records (ctx is accepted, not used)."""
    count = 2_000 if ctx.quick else 20_000
    data = VECTOR.read_bytes()

    def decode() -> object:
        msg = usp.parse_record(data, max_size=64 * 1024).msg
        assert msg is not None
        return usp.expect(msg, usp.GetResp).params

    def protobuf_only() -> object:
        record = usp_record_pb2.Record.FromString(data)
        return usp_msg_pb2.Msg.FromString(record.no_session_context.payload)

    def encode_get() -> bytes:
        msg = messages.get("hearth-get-1", ["Device.DeviceInfo.", "Device.LocalAgent.EndpointID"])
        return usp.encode_record(usp.wrap(msg, to_id=AGENT, from_id=CONTROLLER))

    reply = usp.parse_record(data, max_size=len(data))
    assert reply.msg is not None
    cache_size = is_valid_endpoint_id.cache_info().maxsize or 0
    many = [
        usp.encode_record(usp.wrap(reply.msg, to_id=CONTROLLER, from_id=f"proto::agent-{n}"))
        for n in range(2 * cache_size)
    ]
    turn = iter(range(1 << 62))

    def decode_many() -> object:
        record = many[next(turn) % len(many)]
        msg = usp.parse_record(record, max_size=64 * 1024).msg
        assert msg is not None
        return usp.expect(msg, usp.GetResp).params

    def encode_get_resp() -> bytes:
        assert reply.msg is not None
        return usp.encode_record(usp.wrap(reply.msg, to_id=CONTROLLER, from_id=AGENT))

    baseline = per_second(protobuf_only, count)
    one_agent = per_second(decode, count)
    return [
        Figure(
            "GetResp records decoded to typed params (412 B)",
            one_agent,
            "records/s",
            TARGET,
            baseline=baseline,
            baseline_name="protobuf parse only",
        ),
        Figure(
            f"GetResp records decoded, {len(many):,} agents round-robin (ID cache misses)",
            per_second(decode_many, max(count, len(many))),
            "records/s",
            TARGET,
            baseline=one_agent,
            baseline_name="one agent (ID cache hits)",
            note=f"Endpoint-ID cache holds {cache_size:,}",
        ),
        Figure(
            "Get records built and encoded (130 B)",
            per_second(encode_get, count),
            "records/s",
            TARGET,
        ),
        Figure(
            "GetResp records encoded from typed (412 B)",
            per_second(encode_get_resp, count),
            "records/s",
            TARGET,
        ),
    ]
