"""What the controller knows about the MTP side: addresses, origins, transports."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

MQTT = "mqtt"
WEBSOCKET = "websocket"


@dataclass(frozen=True, slots=True)
class AgentAddress:
    """Where an agent is reached: plain values, so the device domain can persist them.

    * MQTT: ``topic`` is the topic the agent subscribed to (Connect Record
      ``subscribed_topic``, v5 Response Topic, or the 3.1.1 ``/reply-to=`` part), and
      ``mqtt_v5`` says whether it expects properties (v5) or the ``/reply-to=`` form.
    * WebSocket: only ``mtp``; the live session is held by the process it connected to,
      and the transport reaches it there or through that process (decision 0047).

    ``topic`` embeds the Endpoint ID: keep it out of logs and audit details.
    """

    mtp: str
    topic: str = ""
    mqtt_v5: bool = True


@dataclass(frozen=True, slots=True)
class Origin:
    """How a Record arrived, as the MTP tells the controller.

    ``identity`` is the endpoint id the MTP authenticated (WebSocket credentials, or the
    topic the broker's ACL lets only that endpoint publish to); None when unproven.
    ``verified`` means the MTP already checked the credentials of ``identity``.
    ``address`` is where the sender listens, when the MTP saw it.
    """

    mtp: str
    identity: str | None = None
    verified: bool = False
    address: AgentAddress | None = None
    content_type_ok: bool = True


@dataclass(frozen=True, slots=True)
class Located:
    """What the device domain knows of an agent: its last address and whether it is online.

    ``address`` is None when the domain stored none (an MQTT agent known only by topic
    convention); a WebSocket agent's is the bare ``websocket`` MTP, which reaches its
    session in whichever ``serve`` replica holds it (decision 0047).  ``online`` false
    means the agent went away (a last will, a DisconnectRecord, a closed session, or
    silence): requests fail at once.
    """

    address: AgentAddress | None
    online: bool


class AgentDirectory(Protocol):
    """Where the controller asks about an agent it has no address or news of."""

    async def locate(self, endpoint_id: str) -> Located | None:
        """The agent's stored address and presence, or None if it is unknown."""
        ...


class Verdict(Enum):
    """What the controller made of a Record; the MTP may act on it."""

    ACCEPTED = "accepted"
    DROPPED = "dropped"
    """A well-formed Record that was refused (wrong recipient, unknown sender …)."""
    UNUSABLE = "unusable"
    """Not a usable Record (garbage, oversized): WebSocket closes with 1003 (R-WS.16)."""


class Transport(Protocol):
    """An MTP as the controller drives it."""

    @property
    def name(self) -> str:
        """``mqtt`` or ``websocket``: the ``mtp`` of the addresses it serves."""
        ...

    async def send(
        self, endpoint_id: str, address: AgentAddress, data: bytes, *, response: bool
    ) -> None:
        """Deliver one encoded Record; ``response`` marks an answer (e.g. NotifyResp).

        Raises DeviceOfflineError or MtpUnavailableError when it cannot.
        """
        ...

    def default_address(self, endpoint_id: str) -> AgentAddress | None:
        """The address to try for an agent never heard from (by topic convention), or None."""
        ...
