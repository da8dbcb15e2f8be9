"""Build the Msgs a Controller sends, and read the answers as typed results.

Builders return a typed :class:`Msg`; :func:`encode_msg` serializes one and
:func:`decode_msg` reads one (``records.wrap`` / ``records.parse_record`` do the
same inside a Record)::

    request = messages.get("m-1", ["Device.DeviceInfo."])
    ...
    reply = messages.expect(record.msg, GetResp, msg_id=request.msg_id)
    reply.params   # {"Device.DeviceInfo.": {"SerialNumber": "…", …}}

:func:`expect` turns an Error Msg into :class:`UspErrorResponse` (with the typed
Error and its ``param_errs``) and a wrong type or msg_id into
:class:`UnexpectedResponseError`.

``set`` shadows the builtin inside this module on purpose (the USP name); the module
does not use the builtin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from doorstep.usp._decode import decode_msg
from doorstep.usp._encode import encode_msg
from doorstep.usp._msg import Body, Msg
from doorstep.usp._notify import Notify, NotifyResp
from doorstep.usp._requests import (
    Add,
    CreateObject,
    Delete,
    Get,
    GetInstances,
    GetSupportedDM,
    GetSupportedProtocol,
    Operate,
    ParamSetting,
    Set,
    UpdateObject,
)
from doorstep.usp._responses import ErrorMsg, ParamError
from doorstep.usp.exceptions import UnexpectedResponseError, UspEncodeError, UspErrorResponse

__all__ = [
    "SUPPORTED_PROTOCOL_VERSIONS",
    "add",
    "answer_notify",
    "decode_msg",
    "delete",
    "encode_msg",
    "error",
    "expect",
    "get",
    "get_instances",
    "get_supported_dm",
    "get_supported_protocol",
    "notify_resp",
    "operate",
    "set",
]

SUPPORTED_PROTOCOL_VERSIONS = ("1.3", "1.4")
"""The USP versions Doorstep's schema speaks (1.4 is a superset of 1.3 on the wire)."""

T = TypeVar("T")


def _paths(paths: str | Iterable[str]) -> tuple[str, ...]:
    return (paths,) if isinstance(paths, str) else tuple(paths)


def get(msg_id: str, paths: str | Iterable[str], *, max_depth: int = 0) -> Msg:
    """Get the parameters under ``paths`` (objects end with ``.``); 0 = whole subtree."""
    return Msg(msg_id, Get(_paths(paths), max_depth))


def set(
    msg_id: str,
    updates: Mapping[str, str] | Iterable[UpdateObject],
    *,
    allow_partial: bool = False,
    required: bool = True,
) -> Msg:
    """Set parameters.

    ``updates`` is either ``{full parameter path: value}`` (grouped by object, each
    parameter ``required`` so that a failure fails its object) or the
    :class:`UpdateObject` list itself.  Without ``allow_partial`` the agent applies all
    or nothing and answers a failure with an Error Msg.
    """
    if isinstance(updates, Mapping):
        grouped: dict[str, list[ParamSetting]] = {}
        for path, value in updates.items():
            obj_path, dot, param = path.rpartition(".")
            if not dot or not obj_path or not param:
                raise UspEncodeError("a Set path must name a parameter, e.g. Device.X.Name")
            grouped.setdefault(obj_path + ".", []).append(ParamSetting(param, value, required))
        objs = tuple(UpdateObject(obj, tuple(items)) for obj, items in grouped.items())
    else:
        objs = tuple(updates)
    return Msg(msg_id, Set(objs, allow_partial))


def add(
    msg_id: str,
    objects: Mapping[str, Mapping[str, str]] | Iterable[CreateObject],
    *,
    allow_partial: bool = False,
    required: bool = True,
) -> Msg:
    """Create instances: ``{table path ending in '.': {parameter: value}}`` or the list."""
    if isinstance(objects, Mapping):
        objs = tuple(
            CreateObject(table, tuple(ParamSetting(k, v, required) for k, v in params.items()))
            for table, params in objects.items()
        )
    else:
        objs = tuple(objects)
    return Msg(msg_id, Add(objs, allow_partial))


def delete(msg_id: str, obj_paths: str | Iterable[str], *, allow_partial: bool = False) -> Msg:
    """Delete the instances ``obj_paths`` (each ends with ``.``)."""
    return Msg(msg_id, Delete(_paths(obj_paths), allow_partial))


def operate(
    msg_id: str,
    command: str,
    input_args: Mapping[str, str] | None = None,
    *,
    command_key: str = "",
    send_resp: bool = True,
) -> Msg:
    """Run ``command`` (e.g. ``Device.Reboot()``); ``command_key`` comes back in events."""
    return Msg(msg_id, Operate(command, command_key, send_resp, dict(input_args or {})))


def get_instances(
    msg_id: str, obj_paths: str | Iterable[str], *, first_level_only: bool = False
) -> Msg:
    """List the instances (and unique keys) of the tables under ``obj_paths``."""
    return Msg(msg_id, GetInstances(_paths(obj_paths), first_level_only))


def get_supported_dm(
    msg_id: str,
    obj_paths: str | Iterable[str],
    *,
    first_level_only: bool = False,
    commands: bool = True,
    events: bool = True,
    params: bool = True,
    unique_key_sets: bool = True,
) -> Msg:
    """Ask what the agent supports under ``obj_paths`` (a 1.3 agent ignores unique keys)."""
    body = GetSupportedDM(
        _paths(obj_paths), first_level_only, commands, events, params, unique_key_sets
    )
    return Msg(msg_id, body)


def get_supported_protocol(
    msg_id: str, versions: Iterable[str] = SUPPORTED_PROTOCOL_VERSIONS
) -> Msg:
    """Tell the agent our USP versions and ask for its own."""
    return Msg(msg_id, GetSupportedProtocol(tuple(versions)))


def notify_resp(msg_id: str, subscription_id: str) -> Msg:
    """A NotifyResp: ``msg_id`` and ``subscription_id`` echo the Notify."""
    return Msg(msg_id, NotifyResp(subscription_id))


def answer_notify(notify: Msg) -> Msg | None:
    """The NotifyResp a Notify asks for (``send_resp``), or None when it asks for none."""
    body = notify.body
    if not isinstance(body, Notify):
        raise UnexpectedResponseError("not a Notify", msg_type=notify.msg_type.name)
    return notify_resp(notify.msg_id, body.subscription_id) if body.send_resp else None


def error(
    msg_id: str, err_code: int, err_msg: str = "", param_errs: Iterable[ParamError] = ()
) -> Msg:
    """An Error Msg answering the request ``msg_id``."""
    return Msg(msg_id, ErrorMsg(int(err_code), err_msg, tuple(param_errs)))


def expect(response: Msg, kind: type[T], *, msg_id: str | None = None) -> T:
    """The body of ``response`` as ``kind``, checking that it answers ``msg_id``.

    Raises :class:`UspErrorResponse` for an Error Msg and
    :class:`UnexpectedResponseError` for another type or a msg_id that is not echoed.
    """
    if msg_id is not None and response.msg_id != msg_id:
        raise UnexpectedResponseError("the answer does not echo the request's msg_id")
    body: Body = response.body
    if isinstance(body, ErrorMsg):
        raise UspErrorResponse(body)
    if not isinstance(body, kind):
        raise UnexpectedResponseError(
            f"expected {kind.__name__}, got {type(body).__name__}",
            msg_type=response.msg_type.name,
        )
    return body
