"""GetSupportedDM for a simulated device: its supported data model, from its own values.

A simulated device supports the objects of its schema and values (instance numbers
written ``{i}``) except those its model omits (``Profile.omit``), their parameters,
and the commands (with their input and output argument names) and events of the
objects it has: ``Device.Reboot()``, ``Device.FactoryReset()`` and ``Boot!`` always,
``Periodic!`` and ``TransferComplete!`` on ``Device.LocalAgent.``,
``Device.WiFi.NeighboringWiFiDiagnostic()`` while it has ``Device.WiFi.``, the
firmware images' ``Download()`` and ``Activate()``, and the four IP diagnostics on
``Device.IP.Diagnostics.``, each unless the model omits it (``Profile.omit``).  Every
object is read-only (``OBJ_READ_ONLY``) but the tables of ``Profile.deletable``
(``OBJ_DELETE_ONLY``).  A requested object it lacks is a per-path error 7026 (invalid
path), as the reference agent answers.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping

from doorstep.usp._requests import GetSupportedDM
from doorstep.usp._supported_dm import (
    GetSupportedDMResp,
    RequestedObjectResult,
    SupportedCommand,
    SupportedEvent,
    SupportedObject,
    SupportedParam,
)
from doorstep.usp._types import CmdType, ObjAccessType, ParamAccessType
from doorstep.usp.agent_sim import _diagnostics, _firmware
from doorstep.usp.agent_sim._events import TRANSFER_COMPLETE_ARGS
from doorstep.usp.agent_sim._schema import SCHEMA, spec_of
from doorstep.usp.codes import ErrorCode

_INSTANCE = re.compile(r"\.[0-9]+\.")
_SYNC, _ASYNC = CmdType.CMD_SYNC, CmdType.CMD_ASYNC
_COMMANDS: Mapping[str, tuple[SupportedCommand, ...]] = {
    "Device.": (
        SupportedCommand("Reboot()", ("Cause", "Reason"), (), _SYNC),
        SupportedCommand("FactoryReset()", ("Cause", "Reason"), (), _SYNC),
    ),
    "Device.WiFi.": (SupportedCommand("NeighboringWiFiDiagnostic()", command_type=_ASYNC),),
    "Device.DeviceInfo.FirmwareImage.{i}.": (
        SupportedCommand("Download()", _firmware.DOWNLOAD_ARGS, (), _ASYNC),
        SupportedCommand("Activate()", _firmware.ACTIVATE_ARGS, (), _ASYNC),
    ),
    "Device.IP.Diagnostics.": tuple(
        SupportedCommand(name, inputs, outputs, _ASYNC)
        for name, (inputs, outputs) in _diagnostics.ARGUMENTS.items()
    ),
}
_EVENTS: Mapping[str, tuple[SupportedEvent, ...]] = {
    "Device.": (
        SupportedEvent(
            "Boot!", ("CommandKey", "Cause", "Reason", "FirmwareUpdated", "ParameterMap")
        ),
    ),
    "Device.LocalAgent.": (
        SupportedEvent("Periodic!"),
        SupportedEvent("TransferComplete!", TRANSFER_COMPLETE_ARGS),
    ),
}


def _generic(path: str) -> str:
    while _INSTANCE.search(path):
        path = _INSTANCE.sub(".{i}.", path)
    return path


def _objects(values: Iterable[str], omit: tuple[str, ...]) -> dict[str, set[str]]:
    """Generic object path -> parameter names, every ancestor object included.

    The simulator's schema counts as supported (a table without instances is still
    supported), except what the model omits.
    """
    found: dict[str, set[str]] = {"Device.": set()}
    schema = (p for p in SCHEMA if not any(p.startswith(gone) for gone in omit))
    for path in itertools.chain(values, schema):
        generic = _generic(path)
        obj, _, param = generic.rpartition(".")
        found.setdefault(obj + ".", set()).add(param)
        parts = obj.split(".")
        for end in range(1, len(parts)):
            found.setdefault(".".join(parts[:end]) + ".", set())
    return found


def _object(
    path: str, params: set[str], omit: tuple[str, ...], deletable: tuple[str, ...] = ()
) -> SupportedObject:
    commands = tuple(
        command
        for command in _COMMANDS.get(path, ())
        if not any((path + command.command_name).startswith(gone) for gone in omit)
    )
    supported = tuple(
        SupportedParam(
            name,
            ParamAccessType.PARAM_READ_WRITE
            if (spec := spec_of(path.replace("{i}", "1") + name)) is not None and spec.writable
            else ParamAccessType.PARAM_READ_ONLY,
        )
        for name in sorted(params)
    )
    table = path.removesuffix("{i}.")
    return SupportedObject(
        path,
        ObjAccessType.OBJ_DELETE_ONLY
        if path.endswith("{i}.") and table in deletable
        else ObjAccessType.OBJ_READ_ONLY,
        is_multi_instance=path.endswith("{i}."),
        supported_commands=commands,
        supported_events=_EVENTS.get(path, ()),
        supported_params=supported,
    )


def supported_dm(
    values: Iterable[str],
    request: GetSupportedDM,
    omit: tuple[str, ...] = (),
    deletable: tuple[str, ...] = (),
) -> GetSupportedDMResp:
    """The answer of a device with ``values`` (its parameter paths) to ``request``."""
    objects = _objects(values, omit)
    results = []
    for requested in request.obj_paths:
        if requested not in objects:
            results.append(
                RequestedObjectResult(requested, ErrorCode.INVALID_PATH, "no such object")
            )
            continue
        chosen = [
            path
            for path in objects
            if path == requested
            or (
                path.startswith(requested)
                and (not request.first_level_only or path[len(requested) :].count(".") == 1)
            )
        ]
        results.append(
            RequestedObjectResult(
                requested,
                supported_objs=tuple(
                    _object(p, objects[p], omit, deletable) for p in sorted(chosen)
                ),
            )
        )
    return GetSupportedDMResp(tuple(results))
