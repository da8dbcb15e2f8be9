"""Hypothesis strategies: typed USP messages and records, and protobuf-shaped noise.

Generated values stay inside what the typed layer can represent exactly (known enum
members, version lists of ``N.N`` items, a non-empty msg_id), so that
``decode(encode(x)) == x`` is the property to hold.
"""

from __future__ import annotations

from hypothesis import strategies as st

from doorstep import usp

text = st.text(max_size=12)
paths = st.lists(text, max_size=3).map(tuple)
maps = st.dictionaries(text, text, max_size=3)
codes = st.integers(0, 2**32 - 1)
versions = st.lists(st.from_regex(r"\A[0-9]\.[0-9]{1,2}\Z"), max_size=3).map(tuple)
uint64 = st.integers(0, 2**64 - 1)

parameter_errors = st.lists(st.builds(usp.ParameterError, text, codes, text), max_size=2).map(tuple)
settings = st.lists(st.builds(usp.ParamSetting, text, text, st.booleans()), max_size=3).map(tuple)
output_or_failure = st.one_of(
    st.builds(usp.OutputArgs, maps), st.builds(usp.CommandFailure, codes, text)
)
operation_failures = st.builds(usp.OperationFailure, codes, text)

notifications = st.one_of(
    st.builds(usp.Event, text, text, maps),
    st.builds(usp.ValueChange, text, text),
    st.builds(usp.ObjectCreation, text, maps),
    st.builds(usp.ObjectDeletion, text),
    st.builds(usp.OperationComplete, text, text, text, output_or_failure),
    st.builds(usp.OnBoardRequest, text, text, text, versions),
)

requests = st.one_of(
    st.builds(usp.Get, paths, codes),
    st.builds(
        usp.Set,
        st.lists(st.builds(usp.UpdateObject, text, settings), max_size=3).map(tuple),
        st.booleans(),
    ),
    st.builds(
        usp.Add,
        st.lists(st.builds(usp.CreateObject, text, settings), max_size=3).map(tuple),
        st.booleans(),
    ),
    st.builds(usp.Delete, paths, st.booleans()),
    st.builds(usp.Operate, text, text, st.booleans(), maps),
    st.builds(usp.Notify, text, notifications, st.booleans()),
    st.builds(
        usp.GetSupportedDM,
        paths,
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.booleans(),
    ),
    st.builds(usp.GetInstances, paths, st.booleans()),
    st.builds(usp.GetSupportedProtocol, versions),
    st.builds(usp.Register, paths, st.booleans()),
    st.builds(usp.Deregister, paths),
)

_supported_objects = st.builds(
    usp.SupportedObject,
    text,
    st.sampled_from(usp.ObjAccessType),
    st.booleans(),
    st.lists(
        st.builds(usp.SupportedCommand, text, paths, paths, st.sampled_from(usp.CmdType)),
        max_size=2,
    ).map(tuple),
    st.lists(st.builds(usp.SupportedEvent, text, paths), max_size=2).map(tuple),
    st.lists(
        st.builds(
            usp.SupportedParam,
            text,
            st.sampled_from(usp.ParamAccessType),
            st.sampled_from(usp.ParamValueType),
            st.sampled_from(usp.ValueChangeType),
        ),
        max_size=2,
    ).map(tuple),
    paths,
    st.lists(paths, max_size=2).map(tuple),
)


def _results(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[tuple[object, ...]]:
    return st.lists(strategy, max_size=3).map(tuple)


responses = st.one_of(
    st.builds(
        usp.GetResp,
        _results(
            st.builds(
                usp.GetPathResult,
                text,
                codes,
                text,
                _results(st.builds(usp.ResolvedPath, text, maps)),
            )
        ),
    ),
    st.builds(
        usp.SetResp,
        _results(
            st.builds(
                usp.UpdatedObjectResult,
                text,
                st.one_of(
                    st.builds(
                        usp.SetSuccess,
                        _results(st.builds(usp.UpdatedInstance, text, parameter_errors, maps)),
                    ),
                    st.builds(
                        usp.SetFailure,
                        codes,
                        text,
                        _results(st.builds(usp.UpdatedInstanceFailure, text, parameter_errors)),
                    ),
                ),
            )
        ),
    ),
    st.builds(
        usp.AddResp,
        _results(
            st.builds(
                usp.CreatedObjectResult,
                text,
                st.one_of(
                    st.builds(usp.AddSuccess, text, parameter_errors, maps), operation_failures
                ),
            )
        ),
    ),
    st.builds(
        usp.DeleteResp,
        _results(
            st.builds(
                usp.DeletedObjectResult,
                text,
                st.one_of(
                    st.builds(
                        usp.DeleteSuccess,
                        paths,
                        _results(st.builds(usp.UnaffectedPathError, text, codes, text)),
                    ),
                    operation_failures,
                ),
            )
        ),
    ),
    st.builds(
        usp.OperateResp,
        _results(
            st.builds(
                usp.OperationResult,
                text,
                st.one_of(st.builds(usp.AsyncRequest, text), output_or_failure),
            )
        ),
    ),
    st.builds(usp.NotifyResp, text),
    st.builds(
        usp.GetSupportedDMResp,
        _results(
            st.builds(
                usp.RequestedObjectResult, text, codes, text, text, _results(_supported_objects)
            )
        ),
    ),
    st.builds(
        usp.GetInstancesResp,
        _results(
            st.builds(
                usp.InstancesPathResult,
                text,
                codes,
                text,
                _results(st.builds(usp.CurrInstance, text, maps)),
            )
        ),
    ),
    st.builds(usp.GetSupportedProtocolResp, versions),
    st.builds(
        usp.RegisterResp,
        _results(
            st.builds(
                usp.RegisteredPathResult,
                text,
                st.one_of(st.builds(usp.RegisterSuccess, text), operation_failures),
            )
        ),
    ),
    st.builds(
        usp.DeregisterResp,
        _results(
            st.builds(
                usp.DeregisteredPathResult,
                text,
                st.one_of(st.builds(usp.DeregisterSuccess, paths), operation_failures),
            )
        ),
    ),
)

errors = st.builds(
    usp.ErrorMsg, codes, text, _results(st.builds(usp.ParamError, text, codes, text))
)

msgs = st.builds(usp.Msg, st.text(min_size=1, max_size=12), st.one_of(requests, responses, errors))

_id_chars = st.from_regex(r"\A[A-Za-z0-9._-]{1,30}\Z")
endpoint_ids = st.one_of(
    st.sampled_from(["proto::obuspa-test-1", "self::hearth-controller", "os::012345-001122AABBCC"]),
    _id_chars.map(lambda s: f"self::{s}"),
    _id_chars.map(lambda s: f"os::00256D-{s}"),
    st.uuids().map(lambda u: f"uuid::{u}"),
    st.tuples(st.from_regex(r"\A[0-9A-F]{6}\Z"), _id_chars).map(lambda t: f"oui:{t[0]}:{t[1]}"),
)

record_bodies = st.one_of(
    msgs.map(usp.NoSessionContext.of),
    st.builds(
        usp.SessionContext,
        uint64,
        uint64,
        uint64,
        uint64,
        st.integers(0, 3),
        st.integers(0, 3),
        st.lists(st.binary(max_size=8), max_size=3).map(tuple),
    ),
    st.just(usp.WebSocketConnect()),
    st.builds(usp.MqttConnect, st.sampled_from(usp.MqttVersion), text),
    st.builds(usp.StompConnect, text),
    st.just(usp.UdsConnect()),
    st.builds(usp.Disconnect, text, codes),
)


@st.composite
def records(draw: st.DrawFn) -> usp.Record:
    """A valid typed Record of any record type."""
    body = draw(record_bodies)
    security = (
        usp.PayloadSecurity.PLAINTEXT
        if isinstance(body, usp.NoSessionContext)
        else draw(st.sampled_from(usp.PayloadSecurity))
    )
    return usp.Record(
        draw(endpoint_ids),
        draw(endpoint_ids),
        body,
        draw(st.sampled_from(["1.3", "1.4", "1.0"])),
        security,
        draw(st.binary(max_size=4)),
        draw(st.binary(max_size=4)),
    )


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, wire: int, value: bytes | int) -> bytes:
    key = _varint(number << 3 | wire)
    if wire == 0:
        assert isinstance(value, int)
        return key + _varint(value)
    if wire == 5:
        assert isinstance(value, int)
        return key + value.to_bytes(4, "little")
    assert isinstance(value, bytes)
    return key + _varint(len(value)) + value


_leaf = st.one_of(
    st.tuples(st.integers(1, 14), st.just(0), st.integers(0, 2**64 - 1)),
    st.tuples(st.integers(1, 14), st.just(5), st.integers(0, 2**32 - 1)),
    st.tuples(st.integers(1, 14), st.just(2), st.binary(max_size=8)),
    st.tuples(st.integers(1, 14), st.just(2), st.text(max_size=8).map(str.encode)),
)

wire_messages: st.SearchStrategy[bytes] = st.recursive(
    st.lists(_leaf, max_size=5).map(lambda fs: b"".join(_field(*f) for f in fs)),
    lambda inner: st.lists(
        st.one_of(_leaf, st.tuples(st.integers(1, 14), st.just(2), inner)), max_size=5
    ).map(lambda fs: b"".join(_field(*f) for f in fs)),
    max_leaves=25,
)
"""Well-formed protobuf bytes of random shape: they parse, so validation gets tested."""


def wire_field(number: int, value: bytes) -> bytes:
    """One length-delimited field, for assembling Records around random payloads."""
    return _field(number, 2, value)
