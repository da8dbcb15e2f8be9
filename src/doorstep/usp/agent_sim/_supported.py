"""GetSupportedDM for a simulated device: its supported data model, from its own values.

A simulated device supports the objects of its schema and values (instance numbers
written ``{i}``) except those its model omits (``Profile.omit``), their parameters,
and the commands of the objects it has: ``Device.Reboot()`` and
``Device.FactoryReset()`` always, and
``Device.WiFi.NeighboringWiFiDiagnostic()`` while it has ``Device.WiFi.`` and does
not omit the command (``Profile.omit``).  A requested object it lacks is a
per-path error 7026 (invalid path), as the reference agent answers.
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
    SupportedObject,
    SupportedParam,
)
from doorstep.usp._types import CmdType, ObjAccessType, ParamAccessType
from doorstep.usp.agent_sim._schema import SCHEMA, spec_of
from doorstep.usp.codes import ErrorCode

_INSTANCE = re.compile(r"\.[0-9]+\.")
_COMMANDS: Mapping[str, tuple[tuple[str, CmdType], ...]] = {
    "Device.": (("Reboot()", CmdType.CMD_SYNC), ("FactoryReset()", CmdType.CMD_SYNC)),
    "Device.WiFi.": (("NeighboringWiFiDiagnostic()", CmdType.CMD_ASYNC),),
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


def _object(path: str, params: set[str], omit: tuple[str, ...]) -> SupportedObject:
    commands = tuple(
        SupportedCommand(name, command_type=kind)
        for name, kind in _COMMANDS.get(path, ())
        if not any((path + name).startswith(gone) for gone in omit)
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
    return SupportedObject(
        path,
        ObjAccessType.OBJ_READ_ONLY,
        is_multi_instance=path.endswith("{i}."),
        supported_commands=commands,
        supported_params=supported,
    )


def supported_dm(
    values: Iterable[str], request: GetSupportedDM, omit: tuple[str, ...] = ()
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
                supported_objs=tuple(_object(p, objects[p], omit) for p in sorted(chosen)),
            )
        )
    return GetSupportedDMResp(tuple(results))
