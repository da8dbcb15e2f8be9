"""The commands a simulated agent runs (Operate), dispatched by path.

* ``Device.Reboot()`` and ``Device.FactoryReset()`` answer at once, then
  ``_restart.restart``: after ``timing.reboot`` the device drops its session and comes
  back with ``Boot!`` naming the cause and the Operate's ``command_key``.
* ``Device.WiFi.NeighboringWiFiDiagnostic()`` is asynchronous: the OperateResp names a
  ``Device.LocalAgent.Request.{i}.`` row (``_async``); the results follow as Notify
  OperationComplete (:func:`site_survey`) to its subscribers.
* ``Device.DeviceInfo.FirmwareImage.{i}.Download()`` / ``Activate()`` (``_firmware``)
  and ``Device.IP.Diagnostics.IPPing()``, ``TraceRoute()``, ``DownloadDiagnostics()``,
  ``UploadDiagnostics()`` (``_diagnostics``).
* Any other command, or one of an object the model lacks, is Error 7026.

Functions of :class:`~doorstep.usp.agent_sim._device.SimDevice`, kept apart so
that the agent module holds the sessions and the dispatch of requests.
"""

from __future__ import annotations

import asyncio

from doorstep.usp import messages
from doorstep.usp._requests import Operate
from doorstep.usp._responses import OperateResp, OperationResult
from doorstep.usp._types import CommandFailure, OutputArgs
from doorstep.usp.agent_sim import _diagnostics, _firmware, _images
from doorstep.usp.agent_sim._async import finish, open_request, started
from doorstep.usp.agent_sim._device import SimDevice
from doorstep.usp.agent_sim._events import survey_results
from doorstep.usp.agent_sim._restart import restart
from doorstep.usp.codes import ErrorCode

REBOOT = "Device.Reboot()"
FACTORY_RESET = "Device.FactoryReset()"
SITE_SURVEY = "Device.WiFi.NeighboringWiFiDiagnostic()"
_REBOOT_CAUSES = ("LocalReboot", "RemoteReboot")
_NEIGHBOURS = (("neighbour-a", 1, -48), ("neighbour-b", 6, -71), ("neighbour-c", 44, -80))


def operate(agent: SimDevice, request: Operate) -> object:
    """The OperateResp (or Error body) of ``request``; starts what the command does."""
    command = request.command
    if any(command.startswith(gone) for gone in agent.profile.omit):
        return messages.error("-", ErrorCode.INVALID_PATH, "no such command").body
    if command in {REBOOT, FACTORY_RESET}:
        return _reboot(agent, request)
    if command == SITE_SURVEY and "Device.WiFi.SSID.1.SSID" in agent.model.values:
        row = open_request(agent, command, request.command_key)
        agent.job(site_survey(agent, row))
        return started(command, row)
    if command.startswith(_images.FIRMWARE_TABLE):
        return _firmware.operate(agent, request)
    if command.startswith(_diagnostics.DIAGNOSTICS):
        return _diagnostics.operate(agent, request)
    return messages.error("-", ErrorCode.INVALID_PATH, "no such command").body


def _reboot(agent: SimDevice, request: Operate) -> OperateResp:
    """Reboot() or FactoryReset(): answer now, restart in the background."""
    command = request.command
    cause = request.input_args.get("Cause", "RemoteReboot")
    allowed = _REBOOT_CAUSES if command == REBOOT else ("RemoteFactoryReset",)
    if command == FACTORY_RESET:
        cause = request.input_args.get("Cause", "RemoteFactoryReset")
    if cause not in allowed:
        failure = CommandFailure(ErrorCode.INVALID_COMMAND_ARGUMENTS, "invalid Cause")
        return OperateResp((OperationResult(command, failure),))
    agent.spawn(restart(agent, cause, request.command_key, command == FACTORY_RESET))
    return OperateResp((OperationResult(command, OutputArgs({})),))


async def site_survey(agent: SimDevice, row: str) -> None:
    """The scan's results, after ``timing.site_survey``, to its subscribers."""
    await asyncio.sleep(agent.delay(agent.timing.site_survey))
    finish(agent, row, OutputArgs(survey_results(_NEIGHBOURS)), "survey")
