"""Reading a device's answers for the handlers: command results, uptime, reboots."""

from __future__ import annotations

from datetime import datetime

from doorstep.devices.fleet.handlers.base import Run
from doorstep.usp import CommandFailure, Event, OperateResp, OperationComplete

UPTIME = "Device.DeviceInfo.UpTime"
SLACK_SECONDS = 2
"""A device whose uptime is this much shorter than the time since a command rebooted."""


def command_failure(answer: OperateResp) -> CommandFailure | None:
    """The CommandFailure of an OperateResp, if the command was refused."""
    for result in answer.operation_results:
        if isinstance(result.result, CommandFailure):
            return result.result
    return None


def boot_of(event: object, command_key: str | None = None) -> Event | None:
    """``event`` if it is a ``Boot!`` (naming ``command_key``, when given)."""
    if not isinstance(event, Event) or event.event_name != "Boot!":
        return None
    if command_key is not None and event.params.get("CommandKey") != command_key:
        return None
    return event


def completion_of(event: object, command_key: str, command: str) -> OperationComplete | None:
    """``event`` if it is the OperationComplete of ``command`` (``Download()``) of ours."""
    if not isinstance(event, OperationComplete) or event.command_key != command_key:
        return None
    return event if event.command_name == command else None


async def rebooted_since(run: Run, instant: datetime | None) -> bool:
    """Whether the device has booted since ``instant`` (its uptime is shorter)."""
    if instant is None:
        return False
    answer = await run.get([UPTIME])
    raw = answer.values.get(UPTIME, "")
    if not raw.isdigit():
        return False
    elapsed = (run.now() - instant).total_seconds()
    return int(raw) + SLACK_SECONDS < elapsed
