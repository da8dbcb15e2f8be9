"""The commands a simulated agent runs (Operate), and the restart they end in.

* ``Device.Reboot()`` and ``Device.FactoryReset()`` answer at once, then
  :func:`restart`: after ``timing.reboot`` the device drops its session and comes back
  with ``Boot!`` naming the cause and the Operate's ``command_key``.  A factory reset
  forgets everything a controller set; a strict agent's reboot forgets its
  non-persistent subscriptions and drops the connection uncleanly (``abrupt``).
* ``Device.WiFi.NeighboringWiFiDiagnostic()`` is asynchronous: the OperateResp names a
  ``Device.LocalAgent.Request.{i}.``; the results follow as Notify OperationComplete
  (:func:`site_survey`) to its subscribers.

Functions of :class:`~doorstep.usp.agent_sim.agent.SimAgent`'s state, kept apart so
that the agent module holds the sessions and the dispatch of requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Protocol

from doorstep.usp import messages
from doorstep.usp._notify import Notification, OperationComplete
from doorstep.usp._requests import Operate
from doorstep.usp._responses import AsyncRequest, OperateResp, OperationResult
from doorstep.usp._types import CommandFailure, OutputArgs
from doorstep.usp.agent_sim import _tables
from doorstep.usp.agent_sim._events import survey_results
from doorstep.usp.agent_sim.datamodel import DataModel, Profile, build_values
from doorstep.usp.codes import ErrorCode


class _Timing(Protocol):
    @property
    def reboot(self) -> float: ...

    @property
    def site_survey(self) -> float: ...


class SimAgent(Protocol):
    """What these commands use of :class:`~doorstep.usp.agent_sim.agent.SimAgent`.

    A protocol rather than an import, so the agent module (which calls these)
    and this one form no import circle.
    """

    profile: Profile
    controller_id: str
    strict: bool
    abrupt: bool
    model: DataModel
    reboot: asyncio.Event

    @property
    def timing(self) -> _Timing: ...

    def spawn(self, work: Awaitable[None]) -> asyncio.Task[None]: ...

    def next_request(self) -> int: ...

    def booted(self, cause: str, command_key: str) -> None: ...

    def notify(self, notif_type: str, path: str, body: Notification, lenient_id: str) -> None: ...


REBOOT = "Device.Reboot()"
FACTORY_RESET = "Device.FactoryReset()"
SITE_SURVEY = "Device.WiFi.NeighboringWiFiDiagnostic()"
_REBOOT_CAUSES = ("LocalReboot", "RemoteReboot")
_NEIGHBOURS = (("neighbour-a", 1, -48), ("neighbour-b", 6, -71), ("neighbour-c", 44, -80))


def operate(agent: SimAgent, request: Operate) -> object:
    """The OperateResp (or Error body) of ``request``; starts what the command does."""
    command = request.command
    if command in {REBOOT, FACTORY_RESET}:
        cause = request.input_args.get("Cause", "RemoteReboot")
        allowed = _REBOOT_CAUSES if command == REBOOT else ("RemoteFactoryReset",)
        if command == FACTORY_RESET:
            cause = request.input_args.get("Cause", "RemoteFactoryReset")
        if cause not in allowed:
            failure = CommandFailure(ErrorCode.INVALID_COMMAND_ARGUMENTS, "invalid Cause")
            return OperateResp((OperationResult(command, failure),))
        agent.spawn(restart(agent, cause, request.command_key, command == FACTORY_RESET))
        return OperateResp((OperationResult(command, OutputArgs({})),))
    if command == SITE_SURVEY and "Device.WiFi.SSID.1.SSID" in agent.model.values:
        path = f"Device.LocalAgent.Request.{agent.next_request()}."
        agent.spawn(site_survey(agent, request.command_key))
        return OperateResp((OperationResult(command, AsyncRequest(path)),))
    return messages.error("-", ErrorCode.INVALID_PATH, "no such command").body


async def restart(agent: SimAgent, cause: str, command_key: str, factory: bool) -> None:
    """Drop the session after ``timing.reboot`` and boot again with ``cause``."""
    await asyncio.sleep(agent.timing.reboot)
    if factory:
        agent.model = DataModel(build_values(agent.profile, agent.controller_id))
    elif agent.strict:
        values = agent.model.values
        for sub in list(_tables.subscriptions(values)):
            if values.get(sub.path + "Persistent") not in {"true", "1"}:
                for path in [p for p in values if p.startswith(sub.path)]:
                    del values[path]
    agent.booted(cause, command_key)
    agent.abrupt = agent.strict
    agent.reboot.set()


async def site_survey(agent: SimAgent, command_key: str) -> None:
    """The scan's results, after ``timing.site_survey``, to its subscribers."""
    await asyncio.sleep(agent.timing.site_survey)
    args = survey_results(_NEIGHBOURS)
    done = OperationComplete(
        "Device.WiFi.", "NeighboringWiFiDiagnostic()", command_key, OutputArgs(args)
    )
    agent.notify("OperationComplete", SITE_SURVEY, done, "survey")
