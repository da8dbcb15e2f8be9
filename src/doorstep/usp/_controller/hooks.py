"""The controller's hooks into the device domain, and the no-op default."""

from __future__ import annotations

from typing import Protocol

from doorstep.usp._controller.links import AgentAddress
from doorstep.usp._notify import Notify


class ControllerHooks(Protocol):
    """What the device domain learns from the controller.  Every hook is awaited in a
    background task (at most ``max_concurrent_tasks`` at once; more wait for a slot),
    never on the MTP's read path, so a hook may send requests and wait for their
    answers; an exception is logged and, for ``on_event``, withholds the NotifyResp so
    the agent sends the Notify again (at-least-once delivery to the domain).
    """

    async def on_agent_connected(self, endpoint_id: str, mtp: AgentAddress) -> None:
        """An agent sent its Connect Record (MQTT or WebSocket); ``mtp`` is its address."""
        ...

    async def on_agent_disconnected(self, endpoint_id: str, mtp: AgentAddress) -> None:
        """The agent's WebSocket session ended, or it sent a DisconnectRecord."""
        ...

    async def on_event(self, endpoint_id: str, notify: Notify) -> None:
        """A Notify arrived (Boot!, OnBoardRequest, ValueChange, OperationComplete …).

        Return normally once it is safely handled: the NotifyResp (when ``send_resp``)
        is sent only then.
        """
        ...

    async def on_agent_traffic(self, endpoint_id: str) -> None:
        """The agent sent an accepted Record (called at most once per agent per
        ``traffic_hook_interval``): for last-seen and online tracking."""
        ...


class NullHooks:
    """Hooks that do nothing: the controller still answers Notify and serves requests."""

    async def on_agent_connected(self, endpoint_id: str, mtp: AgentAddress) -> None:
        """Do nothing."""

    async def on_agent_disconnected(self, endpoint_id: str, mtp: AgentAddress) -> None:
        """Do nothing."""

    async def on_event(self, endpoint_id: str, notify: Notify) -> None:
        """Do nothing."""

    async def on_agent_traffic(self, endpoint_id: str) -> None:
        """Do nothing."""
