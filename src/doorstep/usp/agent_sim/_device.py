"""What the command modules use of a simulated device (:class:`SimDevice`).

A protocol rather than an import of :class:`~doorstep.usp.agent_sim.agent.SimAgent`,
so the agent module (which calls ``_commands``, ``_firmware`` and ``_diagnostics``)
and those modules form no import circle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Protocol

from doorstep.usp._notify import Notification
from doorstep.usp.agent_sim._conditions import SimConditions, SimTiming
from doorstep.usp.agent_sim.datamodel import DataModel, Profile


class SimDevice(Protocol):
    """The state and the few actions of a simulated device its commands need."""

    profile: Profile
    controller_id: str
    strict: bool
    abrupt: bool
    model: DataModel
    reboot: asyncio.Event
    powered: asyncio.Event
    sessions: int

    @property
    def endpoint_id(self) -> str: ...

    @property
    def timing(self) -> SimTiming: ...

    @property
    def conditions(self) -> SimConditions: ...

    def spawn(self, work: Awaitable[None]) -> asyncio.Task[None]:
        """Run ``work`` until the session ends."""
        ...

    def job(self, work: Awaitable[None]) -> asyncio.Task[None]:
        """Run ``work`` until the device reboots or loses power (sessions may come and go)."""
        ...

    def cancel_jobs(self) -> None:
        """End every job but the one calling (a reboot ends what was under way)."""
        ...

    def next_request(self) -> int:
        """The instance number of the next ``Device.LocalAgent.Request.{i}.``."""
        ...

    def delay(self, seconds: float) -> float:
        """``seconds`` scaled by this device's own jitter factor."""
        ...

    def booted(
        self, cause: str, command_key: str, *, firmware_updated: bool = False, dark: float = 0.0
    ) -> None:
        """The device booted; its next session starts with ``Boot!`` (after ``dark`` s more)."""
        ...

    def notify(self, notif_type: str, path: str, body: Notification, lenient_id: str) -> None:
        """Send ``body`` now to the subscriptions it matches (if a session is up)."""
        ...

    def deliver(self, notif_type: str, path: str, body: Notification, lenient_id: str) -> None:
        """Send ``body`` now, or at the start of the next session if none is up."""
        ...

    def queue(self, notif_type: str, path: str, body: Notification, lenient_id: str) -> None:
        """Send ``body`` at the start of the next session, right after ``Boot!``."""
        ...
