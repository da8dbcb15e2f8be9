"""Add and Delete on a simulated device, and its ``Device.LocalAgent.Subscription.`` table.

Only the subscription table accepts Add, and Delete besides it only the tables a model
lists as ``Profile.deletable`` (as a Controller sees a real agent whose other tables are
read-only to it; a Delete there keeps the table's ``…NumberOfEntries`` right).  A new
subscription takes the next instance number, its ``Recipient`` is the controller that
added it, and its ``ID`` must be unique for that recipient (7025 otherwise).
:func:`subscribers` answers the question every notification asks on a real agent:
which enabled subscriptions of my controller name this notification type and this path?
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from doorstep.usp._requests import Add, CreateObject, Delete, GetInstances, GetSupportedProtocol
from doorstep.usp._responses import (
    AddResp,
    AddSuccess,
    CreatedObjectResult,
    DeletedObjectResult,
    DeleteResp,
    DeleteSuccess,
    ErrorMsg,
    GetSupportedProtocolResp,
    ParamError,
)
from doorstep.usp._types import OperationFailure
from doorstep.usp.agent_sim._schema import SUBSCRIPTION_DEFAULTS, SUBSCRIPTION_TABLE, spec_of
from doorstep.usp.agent_sim.datamodel import DataModel
from doorstep.usp.codes import ErrorCode

CONTROLLER_ENTRY = "Device.LocalAgent.Controller.1"
"""The agent's one Controller entry (provisioned at the factory); Recipient of its subscriptions."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """One row of ``Device.LocalAgent.Subscription.``."""

    path: str
    id: str
    enabled: bool
    notif_type: str
    references: tuple[str, ...]
    notif_retry: bool

    def covers(self, path: str) -> bool:
        """Whether ``path`` (a parameter, event or command) is in the ReferenceList.

        A reference names it, or an object above it (ends with ``.``); ``*`` stands
        for any instance number (``Device.DeviceInfo.FirmwareImage.*.Download()``).
        """
        return any(_reference(ref).match(path) for ref in self.references)


@lru_cache(maxsize=256)
def _reference(ref: str) -> re.Pattern[str]:
    """A ReferenceList entry as a pattern over the paths it covers."""
    pattern = re.escape(ref).replace(r"\*", "[0-9]+")
    return re.compile(pattern if ref.endswith(".") else pattern + r"\Z")


def subscriptions(values: dict[str, str]) -> Iterator[Subscription]:
    """Every instance of the subscription table in ``values``."""
    for path in _instances(values, SUBSCRIPTION_TABLE):
        refs = values.get(path + "ReferenceList", "")
        yield Subscription(
            path,
            values.get(path + "ID", ""),
            values.get(path + "Enable") in {"true", "1"},
            values.get(path + "NotifType", ""),
            tuple(ref.strip() for ref in refs.split(",") if ref.strip()),
            values.get(path + "NotifRetry") in {"true", "1"},
        )


def subscribers(values: dict[str, str], notif_type: str, path: str) -> list[Subscription]:
    """The enabled subscriptions of type ``notif_type`` whose ReferenceList covers ``path``."""
    return [
        sub
        for sub in subscriptions(values)
        if sub.enabled and sub.notif_type == notif_type and sub.covers(path)
    ]


def _instances(values: dict[str, str], table: str) -> list[str]:
    found: dict[str, None] = {}
    for path in values:
        if path.startswith(table):
            number = path[len(table) :].split(".", 1)[0]
            if number.isdigit():
                found.setdefault(f"{table}{number}.")
    return list(found)


def answer(
    model: DataModel,
    body: Add | Delete | GetInstances | GetSupportedProtocol,
    deletable: tuple[str, ...] = (),
) -> object:
    """The answer to a request on the device's tables (and GetSupportedProtocol)."""
    if isinstance(body, Add):
        return add(model.values, body)
    if isinstance(body, Delete):
        return delete(model.values, body, deletable)
    if isinstance(body, GetInstances):
        return model.instances(body)
    return GetSupportedProtocolResp(("1.3",))


def add(values: dict[str, str], request: Add) -> AddResp | ErrorMsg:
    """Create the requested instances (all or nothing unless ``allow_partial``)."""
    results: list[CreatedObjectResult] = []
    created: dict[str, str] = {}
    for obj in request.create_objs:
        outcome = _create(values, created, obj)
        if isinstance(outcome, OperationFailure) and not request.allow_partial:
            error = ParamError(obj.obj_path, outcome.err_code, outcome.err_msg)
            return ErrorMsg(outcome.err_code, "Add failed", (error,))
        if isinstance(outcome, dict):
            path = _next_instance(values, created)
            created.update({path + name: value for name, value in outcome.items()})
            status: AddSuccess | OperationFailure = AddSuccess(path, (), {"ID": outcome["ID"]})
        else:
            status = outcome
        results.append(CreatedObjectResult(obj.obj_path, status))
    values.update(created)
    return AddResp(tuple(results))


def _create(
    values: dict[str, str], pending: dict[str, str], obj: CreateObject
) -> dict[str, str] | OperationFailure:
    if obj.obj_path != SUBSCRIPTION_TABLE:
        return OperationFailure(ErrorCode.NOT_CREATABLE, "object is not creatable")
    row = dict(SUBSCRIPTION_DEFAULTS)
    for setting in obj.param_settings:
        spec = spec_of(SUBSCRIPTION_TABLE + "1." + setting.param)
        problem = (
            (ErrorCode.UNSUPPORTED_PARAMETER, "unsupported parameter")
            if spec is None
            else (ErrorCode.NOT_WRITABLE, "parameter is read-only")
            if not spec.writable
            else spec.check(setting.value)
        )
        if problem is not None:
            return OperationFailure(problem[0], problem[1])
        row[setting.param] = setting.value
    row["Recipient"] = CONTROLLER_ENTRY
    if not row.get("ID"):
        return OperationFailure(ErrorCode.REQUIRED_PARAMETER_FAILED, "ID is required")
    taken = {values[p] for p in values if p.endswith(".ID") and p.startswith(SUBSCRIPTION_TABLE)}
    taken |= {pending[p] for p in pending if p.endswith(".ID")}
    if row["ID"] in taken:
        return OperationFailure(ErrorCode.DUPLICATE_KEY, "a subscription with this ID exists")
    return row


def _next_instance(values: dict[str, str], pending: dict[str, str]) -> str:
    used = [
        int(p[len(SUBSCRIPTION_TABLE) :].rstrip("."))
        for p in _instances(values, SUBSCRIPTION_TABLE)
    ]
    used += [
        int(p[len(SUBSCRIPTION_TABLE) :].rstrip("."))
        for p in _instances(pending, SUBSCRIPTION_TABLE)
    ]
    return f"{SUBSCRIPTION_TABLE}{max(used, default=0) + 1}."


def delete(
    values: dict[str, str], request: Delete, deletable: tuple[str, ...] = ()
) -> DeleteResp | ErrorMsg:
    """Delete instances of the subscription table (and of ``deletable`` tables); a path
    that names none is a success with nothing.  ``*`` stands for any instance number."""
    results = []
    doomed: list[str] = []
    tables = (SUBSCRIPTION_TABLE, *deletable)
    for requested in request.obj_paths:
        table = next((t for t in tables if requested.startswith(t)), None)
        if table is None:
            failure = OperationFailure(ErrorCode.NOT_A_TABLE, "not deletable")
            if not request.allow_partial:
                error = ParamError(requested, failure.err_code, failure.err_msg)
                return ErrorMsg(failure.err_code, "Delete failed", (error,))
            results.append(DeletedObjectResult(requested, failure))
            continue
        wanted = _reference(requested)
        hit = [path for path in _instances(values, table) if wanted.fullmatch(path)]
        doomed += hit
        results.append(DeletedObjectResult(requested, DeleteSuccess(tuple(hit))))
    for instance in doomed:
        for path in [p for p in values if p.startswith(instance)]:
            del values[path]
    for table in deletable:
        _count_entries(values, table)
    return DeleteResp(tuple(results))


def _count_entries(values: dict[str, str], table: str) -> None:
    """Set the table's ``<Table>NumberOfEntries`` (TR-181) to its instances, if it has one."""
    parent, _, name = table.rstrip(".").rpartition(".")
    counter = f"{parent}.{name}NumberOfEntries"
    if counter in values:
        values[counter] = str(len(_instances(values, table)))
