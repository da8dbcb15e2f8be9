"""Reaching a WebSocket device from any ``serve`` replica, through PostgreSQL (decision 0047).

An agent's WebSocket session lives in the one ``serve`` process it connected to.
:class:`ReplicaRelay` is that process's
:class:`~doorstep.usp.mtp.websocket.SessionRelay`, so a request that arrives at
another replica still reaches the device:

* **Holding.** When a session opens here the relay claims the device in
  ``device_session_holders`` (before the agent's first Record is read), and releases it
  when the session ends; the replica's own lease in ``device_relay_replicas`` is renewed
  every third of ``device_relay_lease_seconds`` (:mod:`.holders`).
* **Asking.** The controller addresses a WebSocket device by its MTP alone (the
  directory, :mod:`.upkeep`); with no session here the WebSocket transport hands the
  encoded Record to :meth:`ReplicaRelay.send`, which NOTIFYs the live replica holding
  it (``doorstep_usp_relay_<replica>``) in one statement, or fails at once with
  DeviceOfflineError (503) when none does, e.g. its replica was killed.
* **Carrying.** The holder sends the Record unchanged on the session, waits for the
  answer with the controller's own correlation (:meth:`Controller.awaiting`) and
  NOTIFYs it back; the asker's waiting request resolves (:meth:`Controller.resolve`)
  under its own timeout, so a device that does not answer is the same 504 as locally.
  A session that is not (or no longer) there answers DeviceOfflineError (503).  The
  OperationComplete of a command started this way (the Wi-Fi scan) goes back the same
  way to the waiter in the asking replica (:meth:`Completions.forward`).

Payloads are at most 7,900 bytes; longer messages go in parts (:mod:`._relay_wire`).
A notification lives in PostgreSQL's notification queue (not a table, not WAL-logged)
until the listener read it, so nothing a device says is stored.  The listening
connection is one per replica, named ``doorstep-relay-<replica>`` so the others can
see that it is alive.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import secrets
import time
from collections.abc import Coroutine
from typing import Any

import psycopg
from sqlalchemy.exc import SQLAlchemyError

from doorstep.core.errors import ConflictError
from doorstep.core.runtime import Runtime
from doorstep.devices import _relay_wire as wire
from doorstep.devices.holders import APPLICATION_PREFIX, CHANNEL_PREFIX, HolderBook
from doorstep.devices.remote import Completions
from doorstep.usp import Msg, Notify, Operate, OperationComplete, decode_msg, encode_msg
from doorstep.usp.controller import DeviceOfflineError, MtpUnavailableError
from doorstep.usp.exceptions import UspDecodeError
from doorstep.usp.mtp.websocket import WebSocketHub
from doorstep.usp.records import NoSessionContext, parse_record

log = logging.getLogger("doorstep.devices.relay")

_RETRY_SECONDS = 2.0
"""Pause before the listener connects again after losing its connection."""


class ReplicaRelay:
    """One replica's side of the relay: the hub's SessionRelay and the listener it runs."""

    def __init__(self, runtime: Runtime, hub: WebSocketHub, completions: Completions) -> None:
        settings = runtime.settings
        config = hub.controller.config
        self.replica = secrets.token_hex(8)
        """This process's name among the replicas (its channel, its listener's name)."""
        self.book = HolderBook(runtime, self.replica, settings.device_relay_lease_seconds)
        self.listening = asyncio.Event()
        """Set while this replica listens (others can reach the sessions it holds)."""
        self.counters: collections.Counter[str] = collections.Counter()
        self._url = runtime.database_url
        self._hub = hub
        self._completions = completions
        self._interval = settings.device_relay_lease_seconds / 3
        self._wait = max(settings.device_request_timeout_seconds, config.request_timeout)
        self._ttl = self._wait + settings.device_scan_timeout_seconds
        self._max_size = config.max_record_size
        self._numbers = itertools.count(1)
        self._asked: dict[int, tuple[str, float]] = {}
        self._parts = wire.Reassembly(config.max_record_size, self._ttl)
        self._claimed: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        hub.transport.relay = self

    # -- the hub's SessionRelay ---------------------------------------------------------

    async def opened(self, endpoint_id: str) -> None:
        """Claim the device (a failure is logged; the next renewal claims it again)."""
        try:
            if await asyncio.to_thread(self.book.claim, [endpoint_id]):
                self._claimed.add(endpoint_id)
        except SQLAlchemyError as exc:
            log.warning("device relay claim failed: %s", type(exc).__name__)

    async def closed(self, endpoint_id: str) -> None:
        """Release the device (another replica's newer claim stays)."""
        self._claimed.discard(endpoint_id)
        try:
            await asyncio.to_thread(self.book.release, endpoint_id)
        except SQLAlchemyError as exc:
            log.warning("device relay release failed: %s", type(exc).__name__)

    async def send(self, endpoint_id: str, data: bytes) -> None:
        """NOTIFY the replica holding the session; DeviceOfflineError when none lives."""
        number = next(self._numbers)
        self._asked[number] = (endpoint_id, time.monotonic() + self._ttl)
        payloads = wire.pack(wire.REQUEST, self.replica, number, data)
        try:
            sent = await asyncio.to_thread(self.book.relay, endpoint_id, payloads)
        except SQLAlchemyError as exc:
            self._asked.pop(number, None)
            log.warning("device relay unavailable: %s", type(exc).__name__)
            raise MtpUnavailableError("the relay between replicas is unavailable") from None
        if not sent:
            self._asked.pop(number, None)
            raise DeviceOfflineError("no replica holds a session of the device")
        self.counters["relayed"] += 1

    # -- running ------------------------------------------------------------------------

    async def run(self) -> None:
        """Listen and renew until cancelled; then leave (claims and lease go)."""
        renewing = asyncio.create_task(self._renew(), name="device-relay-renew")
        try:
            await self._listen()
        finally:
            self.listening.clear()
            for task in (renewing, *self._tasks):
                task.cancel()
            await asyncio.gather(renewing, *self._tasks, return_exceptions=True)
            try:
                await asyncio.to_thread(self.book.leave)
            except SQLAlchemyError as exc:
                log.warning("device relay could not leave: %s", type(exc).__name__)

    async def _listen(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.book.register)
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, application_name=APPLICATION_PREFIX + self.replica
                ) as connection:
                    await connection.execute(f"LISTEN {CHANNEL_PREFIX}{self.replica}")
                    self.listening.set()
                    async for note in connection.notifies():
                        self._heard(note.payload)
            except Exception as exc:  # the database went away: connect again
                self.listening.clear()
                log.warning("device relay listener reconnects: %s", type(exc).__name__)
                await asyncio.sleep(_RETRY_SECONDS)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._upkeep()
            except Exception as exc:  # the database is away: try again next time
                log.warning("device relay renewal failed: %s", type(exc).__name__)
            now = time.monotonic()
            for number, (_endpoint, until) in list(self._asked.items()):
                if until < now:
                    del self._asked[number]

    async def _upkeep(self) -> None:
        """Renew the lease (again from scratch if swept), claim what is not, sweep others."""
        if not await asyncio.to_thread(self.book.renew):
            await asyncio.to_thread(self.book.register)
            self._claimed.clear()
        missing = set(self._hub.transport.sessions) - self._claimed
        if missing:
            await asyncio.to_thread(self.book.claim, missing)
            self._claimed |= missing
        for endpoint_id in self._claimed - set(self._hub.transport.sessions):
            await self.closed(endpoint_id)  # it ended while it was being claimed
        await asyncio.to_thread(self.book.sweep)

    # -- what arrives -------------------------------------------------------------------

    def _heard(self, payload: str) -> None:
        part = wire.unpack(payload)
        if part is None:
            self.counters["garbled"] += 1
            return
        data = self._parts.add(part)
        if data is None:
            return
        if part.kind == wire.REQUEST:
            self._spawn(self._carry(part.sender, part.number, data))
        else:
            self._answered(part.kind, part.number, data)

    def _answered(self, kind: str, number: int, data: bytes) -> None:
        """An answer to one of this replica's relayed requests."""
        asked = self._asked.get(number)
        if asked is None:
            self.counters["late"] += 1
            return
        endpoint_id, controller = asked[0], self._hub.controller
        if kind == wire.OFFLINE:
            del self._asked[number]
            offline = DeviceOfflineError("the device's session closed")
            controller.resolve(endpoint_id, data.decode("utf-8", "replace"), offline)
            return
        try:
            msg = decode_msg(data)
        except UspDecodeError:
            self.counters["garbled"] += 1
            return
        if kind == wire.ANSWER:  # kept: the command's OperationComplete may follow
            controller.resolve(endpoint_id, msg.msg_id, msg)
        elif isinstance(msg.body, Notify) and isinstance(msg.body.notification, OperationComplete):
            del self._asked[number]
            self._completions.resolve(endpoint_id, msg.body.notification)

    async def _carry(self, asker: str, number: int, data: bytes) -> None:
        """Send a relayed Record on the session held here; tell the asker what came of it."""
        try:
            record = parse_record(data, max_size=self._max_size)
        except UspDecodeError:
            self.counters["garbled"] += 1
            return
        if not isinstance(record.body, NoSessionContext):
            return
        endpoint_id, msg = record.to_id, record.body.msg
        transport, controller = self._hub.transport, self._hub.controller
        offline = msg.msg_id.encode("utf-8")
        if endpoint_id not in transport.sessions:
            await self._tell(asker, wire.OFFLINE, number, offline)
            return
        command = msg.body if isinstance(msg.body, Operate) else None
        if command is not None and command.command_key:

            def deliver(done: OperationComplete) -> None:
                notify = Msg(msg.msg_id, Notify("", done))
                self._spawn(self._tell(asker, wire.COMPLETE, number, encode_msg(notify)))

            self._completions.forward(endpoint_id, command.command_key, deliver, ttl=self._ttl)
        self.counters["carried"] += 1
        try:
            if not msg.is_request or (command is not None and not command.send_resp):
                await transport.send_here(endpoint_id, data)
                return
            with controller.awaiting(endpoint_id, msg.msg_id) as future:
                await transport.send_here(endpoint_id, data)
                async with asyncio.timeout(self._wait):
                    answer = await future
        except DeviceOfflineError:
            await self._tell(asker, wire.OFFLINE, number, offline)
            return
        except (TimeoutError, ConflictError):
            return  # no answer to relay: the asker's own timeout ends its request
        await self._tell(asker, wire.ANSWER, number, encode_msg(answer))

    async def _tell(self, replica: str, kind: str, number: int, data: bytes) -> None:
        try:
            payloads = wire.pack(kind, self.replica, number, data)
            await asyncio.to_thread(self.book.tell, replica, payloads)
        except SQLAlchemyError as exc:
            log.warning("device relay could not answer: %s", type(exc).__name__)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("device relay work failed: %s", type(task.exception()).__name__)
