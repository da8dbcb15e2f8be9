"""Asynchronous commands of a simulated device: their Request rows and their end.

As TR-369 R-OPR.0 says and OB-USP-Agent 11 does: an asynchronous Operate creates a
``Device.LocalAgent.Request.{i}.`` row (``Command``, ``CommandKey``, ``Status``
Active, ``Originator``), the OperateResp names it (``req_obj_path``), and when the
command ends the row goes and a Notify OperationComplete (output arguments or a
CommandFailure) goes to the OperationComplete subscriptions naming the command.
Commands that a reboot interrupts fail with 7022 after the device is back
(:func:`interrupted`); OB-USP-Agent reports them the same way from its persisted
Request table.  A command refused before it starts gets a CommandFailure in the
OperateResp itself and no row (:func:`refuse`).
"""

from __future__ import annotations

from doorstep.usp._notify import OperationComplete
from doorstep.usp._responses import AsyncRequest, OperateResp, OperationResult
from doorstep.usp._types import CommandFailure, OutputArgs
from doorstep.usp.agent_sim._device import SimDevice
from doorstep.usp.codes import ErrorCode

REQUEST_TABLE = "Device.LocalAgent.Request."
_ROW = ("Command", "CommandKey", "Status", "Originator")


def refuse(command: str, code: int, reason: str) -> OperateResp:
    """The OperateResp of a command refused before it started (``reason`` names no value)."""
    return OperateResp((OperationResult(command, CommandFailure(int(code), reason)),))


def started(command: str, request: str) -> OperateResp:
    """The OperateResp of an asynchronous command: the path of its Request row."""
    return OperateResp((OperationResult(command, AsyncRequest(request)),))


def open_request(device: SimDevice, command: str, command_key: str) -> str:
    """Add the Request row of ``command``; its instance path (``…Request.<n>.``)."""
    request = f"{REQUEST_TABLE}{device.next_request()}."
    device.model.values.update(
        {
            request + "Command": command,
            request + "CommandKey": command_key,
            request + "Status": "Active",
            request + "Originator": device.controller_id,
        }
    )
    return request


def number(request: str) -> int:
    """The instance number of a Request row path."""
    return int(request[len(REQUEST_TABLE) :].rstrip("."))


def split(command: str) -> tuple[str, str]:
    """``Device.IP.Diagnostics.IPPing()`` -> (``Device.IP.Diagnostics.``, ``IPPing()``)."""
    obj, _, name = command.rpartition(".")
    return obj + ".", name


def finish(
    device: SimDevice,
    request: str,
    result: OutputArgs | CommandFailure,
    lenient_id: str,
    *,
    after_boot: bool = False,
) -> None:
    """End the command of ``request``: drop its row, tell the subscribers.

    ``after_boot``: the command ended with a reboot; the notification follows ``Boot!``.
    """
    values = device.model.values
    command = values.get(request + "Command", "")
    command_key = values.get(request + "CommandKey", "")
    for name in _ROW:
        values.pop(request + name, None)
    if not command:
        return
    obj, name = split(command)
    body = OperationComplete(obj, name, command_key, result)
    send = device.queue if after_boot else device.deliver
    send("OperationComplete", command, body, lenient_id)


def open_requests(device: SimDevice) -> list[str]:
    """The Request rows present, in instance order."""
    rows = {
        path[: path.index(".", len(REQUEST_TABLE)) + 1]
        for path in device.model.values
        if path.startswith(REQUEST_TABLE) and path.endswith(".Command")
    }
    return sorted(rows, key=number)


def interrupted(device: SimDevice, lenient_id: str) -> None:
    """A reboot ended every command under way: each fails with 7022 after ``Boot!``."""
    failure = CommandFailure(ErrorCode.COMMAND_FAILURE, "interrupted by a reboot")
    for request in open_requests(device):
        finish(device, request, failure, lenient_id, after_boot=True)
