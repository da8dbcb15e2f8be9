"""The MTP-independent half of the controller: agents, inbound Records, background work.

:class:`ControllerCore` screens every inbound Record (size, parse, recipient, sender
identity, known endpoint, session context), keeps the address of each agent, resolves
answers to pending requests by ``(endpoint id, msg_id)`` and runs the hooks.  The
public :class:`~doorstep.usp.controller.Controller` adds the request API on top.

Presence (decision 0027): an agent that sent a DisconnectRecord or whose MQTT last
will arrived (:meth:`ControllerCore.agent_gone`) is *gone*: its pending requests fail
at once and new ones fail before they are sent (DeviceOfflineError), until it sends
anything again.  With a :attr:`ControllerCore.directory` (the device domain's stored
addresses and online state), a request to an agent this process has not heard from
is sent to the address the domain stored (so a 3.1.1 agent's answer carries our own
``/reply-to=`` topic and returns to this process, also after a restart), and a
request to an agent the domain knows is offline fails at once, unless this process
took a Connect Record from it since it last saw it go (fresher than the directory).
The domain hears of a departure before it hears of the next connection: the hook
of a Connect Record waits for the hook of the departure before it.

Once the MQTT MTP has the broker back (:meth:`ControllerCore.mqtt_restored`), Connect
Records sent meanwhile are lost, so each agent's next Record over MQTT counts as one
(the hooks register it again) unless its own comes first.  We accept one registration
per agent per reconnection, spread over its own traffic (Periodic! at the latest).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import secrets
import time
from collections.abc import Coroutine, Mapping
from typing import Any

from doorstep.usp import messages
from doorstep.usp._controller.audit import AuditSink, NullAuditSink, Refusal, endpoint_ref
from doorstep.usp._controller.errors import DeviceOfflineError
from doorstep.usp._controller.hooks import ControllerHooks, NullHooks
from doorstep.usp._controller.links import (
    MQTT,
    AgentAddress,
    AgentDirectory,
    Origin,
    Transport,
    Verdict,
)
from doorstep.usp._controller.work import BackgroundWork
from doorstep.usp._msg import Msg
from doorstep.usp._notify import Notify
from doorstep.usp.codes import ErrorCode, RecordErrorCode
from doorstep.usp.config import UspConfig
from doorstep.usp.credentials import CredentialStore
from doorstep.usp.exceptions import UspDecodeError
from doorstep.usp.records import (
    Disconnect,
    MqttConnect,
    MqttVersion,
    NoSessionContext,
    Record,
    WebSocketConnect,
    encode_record,
    parse_record,
    refusal,
    wrap,
)

log = logging.getLogger("doorstep.usp.controller")

_MAX_TRACKED = 1_000_000


class ControllerCore:
    """Agents and inbound traffic.  Create it inside the event loop that will run it."""

    def __init__(
        self,
        config: UspConfig,
        *,
        credentials: CredentialStore,
        hooks: ControllerHooks | None = None,
        audit: AuditSink | None = None,
        secret_key: bytes | None = None,
    ) -> None:
        self.config = config
        self.endpoint_id = config.controller_id
        self.instance = secrets.token_hex(4)
        """Names this process among controllers (its MQTT response topic, msg_ids)."""
        self.hooks: ControllerHooks = hooks or NullHooks()
        self.audit: AuditSink = audit or NullAuditSink()
        self.directory: AgentDirectory | None = None
        """The device domain's stored addresses and presence (see the module docstring)."""
        self.counters: collections.Counter[str] = collections.Counter()
        self._credentials = credentials
        self._ref_key = secret_key or secrets.token_bytes(32)
        self._transports: dict[str, Transport] = {}
        self._agents: dict[str, AgentAddress] = {}
        self._pending: dict[tuple[str, str], asyncio.Future[Msg]] = {}
        self._known: dict[str, float] = {}
        self._traffic: dict[str, float] = {}
        self._gone: set[str] = set()
        self._arrived: set[str] = set()
        self._leaving: dict[str, asyncio.Task[None]] = {}
        self._work = BackgroundWork(config.max_concurrent_tasks)
        self._mqtt_epoch = 0
        self._confirmed: dict[str, int] = {}

    # -- agents and transports --------------------------------------------------------

    def attach(self, transport: Transport) -> None:
        """Use ``transport`` for the addresses whose ``mtp`` is its name."""
        self._transports[transport.name] = transport

    def remember(self, endpoint_id: str, address: AgentAddress) -> None:
        """Record where ``endpoint_id`` is reached (e.g. an address the domain persisted)."""
        self._agents[endpoint_id] = address

    def forget(self, endpoint_id: str) -> AgentAddress | None:
        """Drop the address of ``endpoint_id``; return what it was."""
        return self._agents.pop(endpoint_id, None)

    @property
    def agents(self) -> Mapping[str, AgentAddress]:
        """Endpoint id -> address of every agent this process can reach (read-only view)."""
        return self._agents

    def ref(self, endpoint_id: str) -> str:
        """Keyed reference of an Endpoint ID, safe for logs."""
        return endpoint_ref(endpoint_id, self._ref_key)

    def route(self, endpoint_id: str) -> tuple[Transport, AgentAddress]:
        """The transport and address to reach ``endpoint_id``, or DeviceOfflineError."""
        address = self._agents.get(endpoint_id)
        if address is None:
            for transport in self._transports.values():
                address = transport.default_address(endpoint_id)
                if address is not None:
                    break
        transport_for = self._transports.get(address.mtp) if address is not None else None
        if address is None or transport_for is None:
            raise DeviceOfflineError("no connection to the device in this process")
        return transport_for, address

    def mqtt_restored(self) -> None:
        """The MQTT MTP has the broker again: agents' next Records count as connections."""
        self._mqtt_epoch += 1

    async def agent_connected(self, endpoint_id: str, address: AgentAddress) -> None:
        """Remember ``address`` and tell the hooks (after a Connect Record)."""
        self._agents[endpoint_id] = address
        if len(self._confirmed) >= _MAX_TRACKED:
            self._confirmed.clear()
        self._confirmed[endpoint_id] = self._mqtt_epoch
        self._gone.discard(endpoint_id)
        if len(self._arrived) >= _MAX_TRACKED:
            self._arrived.clear()
        self._arrived.add(endpoint_id)
        self.counters["agents_connected"] += 1
        leaving = self._leaving.pop(endpoint_id, None)
        await self._spawn(self._connected_after(leaving, endpoint_id, address))

    async def _connected_after(
        self, leaving: asyncio.Task[None] | None, endpoint_id: str, address: AgentAddress
    ) -> None:
        if leaving is not None:  # the departure reaches the domain first
            await asyncio.wait([leaving])
        await self.hooks.on_agent_connected(endpoint_id, address)

    async def _left(self, endpoint_id: str, address: AgentAddress) -> None:
        self._arrived.discard(endpoint_id)
        task = await self._spawn(self.hooks.on_agent_disconnected(endpoint_id, address))
        self._leaving[endpoint_id] = task
        task.add_done_callback(
            lambda done: (
                self._leaving.pop(endpoint_id, None)
                if self._leaving.get(endpoint_id) is done
                else None
            )
        )

    async def agent_disconnected(self, endpoint_id: str, address: AgentAddress) -> None:
        """Forget the agent if ``address`` is still its address, and tell the hooks."""
        if self._agents.get(endpoint_id) == address:
            del self._agents[endpoint_id]
        await self._left(endpoint_id, address)

    async def agent_gone(self, endpoint_id: str, address: AgentAddress) -> None:
        """The agent went away (DisconnectRecord, last will): fail its requests, tell the hooks."""
        if self._agents.get(endpoint_id) == address:
            del self._agents[endpoint_id]
        if len(self._gone) >= _MAX_TRACKED:
            self._gone.clear()
        self._gone.add(endpoint_id)
        self.counters["agents_gone"] += 1
        for (eid, _msg_id), future in list(self._pending.items()):
            if eid == endpoint_id and not future.done():
                future.set_exception(DeviceOfflineError("the device disconnected"))
        await self._left(endpoint_id, address)

    async def last_will(self, endpoint_id: str, origin: Origin) -> Verdict:
        """An agent's last will arrived (the broker says its connection dropped)."""
        if not await self._is_known(endpoint_id):
            return self.refuse("unknown_endpoint", endpoint_id, origin, None, Verdict.DROPPED)
        await self.agent_gone(endpoint_id, self._agents.get(endpoint_id) or AgentAddress(MQTT))
        return Verdict.ACCEPTED

    async def departure(self, endpoint_id: str) -> None:
        """Wait until the hooks heard of the departure of ``endpoint_id`` under way, if any."""
        leaving = self._leaving.get(endpoint_id)
        if leaving is not None:
            await asyncio.wait([leaving])

    async def reachable(self, endpoint_id: str) -> None:
        """Raise DeviceOfflineError if the agent is known to be away; learn its address.

        The directory (when there is one) is the truth shared by every process; this
        process's own news of a departure counts only without one, or when the
        directory does not know the agent.
        """
        located = await self.directory.locate(endpoint_id) if self.directory else None
        if located is None:
            if endpoint_id in self._gone:
                raise DeviceOfflineError("the device disconnected")
            return
        if not located.online and endpoint_id not in self._arrived:
            raise DeviceOfflineError("the device is offline")
        self._gone.discard(endpoint_id)
        address = located.address
        if (
            address is not None
            and endpoint_id not in self._agents
            and address.mtp in self._transports
        ):
            self._agents[endpoint_id] = address

    # -- sending ------------------------------------------------------------------------

    async def send_msg(self, endpoint_id: str, msg: Msg, *, response: bool) -> None:
        """Wrap ``msg`` in a Record to ``endpoint_id`` and send it on its MTP."""
        await self.send_record(
            endpoint_id, wrap(msg, to_id=endpoint_id, from_id=self.endpoint_id), response=response
        )

    async def send_record(self, endpoint_id: str, record: Record, *, response: bool) -> None:
        """Encode and send ``record`` on the MTP of ``endpoint_id``."""
        transport, address = self.route(endpoint_id)
        await transport.send(endpoint_id, address, encode_record(record), response=response)

    # -- receiving ----------------------------------------------------------------------

    async def receive(self, data: bytes, origin: Origin) -> Verdict:
        """Screen and handle one inbound Record; never raises for bad input."""
        screened = await self._screen(data, origin)
        if isinstance(screened, Verdict):
            return screened
        record, sender = screened, screened.from_id
        self.counters["records_accepted"] += 1
        self._gone.discard(sender)
        await self._note_traffic(sender)
        answer = refusal(record, own_id=self.endpoint_id)
        if answer is not None:
            self.counters["sessions_refused"] += 1
            if origin.address is not None:
                self._agents.setdefault(sender, origin.address)
            await self._spawn(self.send_record(sender, answer, response=True))
            return Verdict.DROPPED
        if (
            self._mqtt_epoch
            and origin.mtp == MQTT
            and isinstance(record.body, NoSessionContext)
            and self._confirmed.get(sender) != self._mqtt_epoch
        ):  # its Connect Record may have been lost with the broker (module docstring)
            known = origin.address or self._agents.get(sender) or AgentAddress(MQTT)
            await self.agent_connected(sender, known)
        await self._handle(sender, record, origin)
        return Verdict.ACCEPTED

    async def _screen(self, data: bytes, origin: Origin) -> Record | Verdict:
        """The Record if it may be handled, else the verdict of its refusal."""
        if len(data) > self.config.max_record_size:
            return self.refuse("oversized", origin.identity, origin, RecordErrorCode.NOT_PARSED)
        try:
            record = parse_record(data, max_size=self.config.max_record_size)
        except UspDecodeError as exc:
            return self.refuse("garbage", origin.identity, origin, exc.usp_code)
        reason, endpoint = None, record.from_id
        if not origin.content_type_ok:
            reason = "content_type"
        elif record.to_id != self.endpoint_id:
            reason = "wrong_recipient"
        elif origin.identity is not None and record.from_id != origin.identity:
            reason, endpoint = "identity_mismatch", origin.identity
        elif not origin.verified and not await self._is_known(record.from_id):
            reason = "unknown_endpoint"
        if reason is not None:
            return self.refuse(reason, endpoint, origin, None, Verdict.DROPPED)
        return record

    async def _handle(self, sender: str, record: Record, origin: Origin) -> None:
        body = record.body
        if isinstance(body, NoSessionContext):
            if origin.address is not None and self._agents.get(sender) != origin.address:
                self._agents[sender] = origin.address
            await self._dispatch(sender, body.msg)
        elif isinstance(body, MqttConnect):
            topic = body.subscribed_topic
            if topic and not any(ch in topic for ch in "+#"):
                address = AgentAddress(MQTT, topic, body.version is MqttVersion.V5)
            else:
                address = origin.address or AgentAddress(MQTT)
            await self.agent_connected(sender, address)
        elif isinstance(body, WebSocketConnect):
            await self.agent_connected(sender, origin.address or AgentAddress(origin.mtp))
        elif isinstance(body, Disconnect):
            known = self._agents.get(sender) or origin.address or AgentAddress(origin.mtp)
            await self.agent_gone(sender, known)

    async def _dispatch(self, sender: str, msg: Msg) -> None:
        if msg.is_response or msg.is_error:
            future = self._pending.get((sender, msg.msg_id))
            if future is not None and not future.done():
                future.set_result(msg)
            else:
                self.counters["answers_unmatched"] += 1
            return
        if isinstance(msg.body, Notify):
            self.counters["notifications"] += 1
            await self._spawn(self._notify(sender, msg, msg.body))
            return
        error = messages.error(msg.msg_id, ErrorCode.NOT_SUPPORTED, "not supported by Doorstep")
        await self._spawn(self.send_msg(sender, error, response=True))

    async def _notify(self, sender: str, msg: Msg, notify: Notify) -> None:
        try:
            await self.hooks.on_event(sender, notify)
        except Exception:
            log.exception(
                "on_event hook failed; no NotifyResp sent", extra={"endpoint": self.ref(sender)}
            )
            return
        answer = messages.answer_notify(msg)
        if answer is not None:
            await self.send_msg(sender, answer, response=True)

    def refuse(
        self,
        reason: str,
        endpoint: str | None,
        origin: Origin,
        usp_code: int | None,
        verdict: Verdict = Verdict.UNUSABLE,
    ) -> Verdict:
        """Count, log (keyed reference only) and audit a refusal; return ``verdict``."""
        self.counters[f"dropped_{reason}"] += 1
        ref = self.ref(endpoint) if endpoint else None
        log.info("usp record dropped", extra={"reason": reason, "mtp": origin.mtp, "endpoint": ref})
        self.audit.refused(Refusal(reason, endpoint, origin.mtp, usp_code))
        return verdict

    async def _is_known(self, endpoint_id: str) -> bool:
        now = time.monotonic()
        expires = self._known.get(endpoint_id)
        if expires is not None and expires > now:
            return True
        found = await self._credentials.lookup(endpoint_id) is not None
        if found:
            if len(self._known) >= _MAX_TRACKED:
                self._known.clear()
            self._known[endpoint_id] = now + self.config.known_endpoint_ttl
        return found

    async def _note_traffic(self, endpoint_id: str) -> None:
        now = time.monotonic()
        last = self._traffic.get(endpoint_id)
        if last is not None and now - last < self.config.traffic_hook_interval:
            return
        if len(self._traffic) >= _MAX_TRACKED:
            self._traffic.clear()
        self._traffic[endpoint_id] = now
        await self._spawn(self.hooks.on_agent_traffic(endpoint_id))

    # -- background work ----------------------------------------------------------------

    async def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``work`` in the background (:class:`BackgroundWork`: never waits)."""
        return self._work.spawn(work)

    async def settle(self) -> None:
        """Wait for the background work started so far (tests and shutdown)."""
        await self._work.settle()

    async def aclose(self) -> None:
        """Cancel background work and fail every pending request."""
        await self._work.cancel()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(DeviceOfflineError("the controller is shutting down"))
