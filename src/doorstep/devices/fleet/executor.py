"""The executor: runs the queue of device operations in every controller process (decision 0038).

:class:`FleetExecutor` runs next to the USP controller of ``doorstep controller``,
``serve`` (its WebSocket endpoint, and MQTT with ``device_serve_mqtt``) and the demo:

* **Claims** (:meth:`FleetExecutor.run`): when woken — by a NOTIFY of a new operation
  (``fleet_listen``), a finished operation, or at the latest every
  ``fleet_poll_seconds`` — it claims due ``queued`` operations of the devices this
  process reaches, then ``waiting`` ones whose check is due, up to
  ``fleet_executor_concurrency`` at once, and runs each one's handler
  (:mod:`.handlers`).  It renews the leases of what it runs every third of
  ``fleet_lease_seconds``.  A process that reaches no device (``serve`` without MQTT
  and with no WebSocket session) neither claims nor listens: it touches no database.
* **Notifications** (:meth:`FleetExecutor.on_event`, from the controller hooks):
  TransferComplete!, OperationComplete, Boot! and the ValueChange of
  ``SoftwareVersion`` resume the device's waiting operation at once, in whichever
  process hears them, inside the notification's hook (its NotifyResp follows the
  recorded outcome).  A resume may read the device but sends no command: an event
  after which the next step's message is due (``Activate()`` after
  ``TransferComplete!``) is recorded as a :class:`~.handlers.base.Proceed` — the
  step reached, the operation ``waiting`` and due for a check now — and the claim
  loop, woken, sends the message in a check turn with its lease, after the
  NotifyResp went.  Events that end an operation are recorded in the hook.
  One that arrives while a start or check turn of this process holds the operation
  is handed to that turn (:mod:`.handover`; a check that only reads is cut short: a
  rebooting device lost its request) and the hook returns; the turn resumes the
  operation with it once its own outcome is recorded.  One that arrives while the
  operation is busy elsewhere waits for it (at most
  ``device_request_timeout_seconds``), else the next check settles it.
  A device that connects makes its waiting operation due for a check
  (:meth:`FleetExecutor.on_contact`).
* **Failures** (:meth:`FleetExecutor.turn`): a USP Error Msg ends the operation
  ``failed``/``device_error`` with the device's code and text; a refusal of a gate
  ``refused``; an unreachable device puts an operation with nothing sent back in the
  queue and leaves one with something sent waiting (its checks and deadline settle
  it); any other error ends it ``internal_error`` (the error's type only).

Database work runs on worker threads, one short transaction each (:mod:`.ledger` over
:mod:`.records`).  A process that stops leaves its leases to lapse; the sweep
(:mod:`.sweep`) queues those operations again or leaves them to the device's word.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Literal

import psycopg

from doorstep.core.errors import PurposeRefusedError
from doorstep.core.runtime import Runtime
from doorstep.devices.fleet import handlers
from doorstep.devices.fleet.handlers.base import Outcome, Proceed, Run, Wait, failed
from doorstep.devices.fleet.handover import Handover
from doorstep.devices.fleet.ledger import Ledger
from doorstep.devices.fleet.operations import CHANNEL, Reason, load_origins
from doorstep.devices.fleet.records import Claimed, Reach, claim_checks, claim_due
from doorstep.usp import Event, Notification, OperationComplete, UspErrorResponse, ValueChange
from doorstep.usp.controller import Controller, DeviceCommunicationError

log = logging.getLogger("doorstep.devices.fleet")

EVENTS = frozenset({"TransferComplete!", "Boot!"})
"""Events that may settle an operation (besides OperationComplete and ValueChange)."""
SOFTWARE_VERSION = "Device.DeviceInfo.SoftwareVersion"
Mode = Literal["start", "resume", "check"]


class LeaseLostError(Exception):
    """Another executor holds the operation now (this one's lease lapsed)."""


class SendInResumeError(Exception):
    """A handler's ``resume`` tried to send a command; it must answer ``Proceed`` instead."""


def settles(event: Notification) -> bool:
    """Whether ``event`` may settle a waiting operation."""
    if isinstance(event, OperationComplete):
        return True
    if isinstance(event, Event):
        return event.event_name in EVENTS
    return isinstance(event, ValueChange) and event.param_path == SOFTWARE_VERSION


class FleetExecutor:
    """Claims and runs device operations for one controller process."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.ledger = Ledger(runtime)
        """Its transactions, under its random lease owner id."""
        self.concurrency = settings.fleet_executor_concurrency
        self.poll = settings.fleet_poll_seconds
        self.listen = settings.fleet_listen
        self.timeout = settings.device_request_timeout_seconds
        self.controller: Controller | None = None
        self.reach: Callable[[], Reach] = lambda: Reach(mqtt=False)
        self._running: dict[asyncio.Task[None], uuid.UUID] = {}
        """The turns claimed here and their operations (a turn may outlive its record)."""
        self._turns: dict[uuid.UUID, Handover] = {}
        """The start and check turns running here, by device: notifications go to them."""
        self._wake = asyncio.Event()
        self._renewed = 0.0
        handlers.load()
        load_origins()

    # -- the loop -----------------------------------------------------------------------

    async def run(self, controller: Controller, reach: Callable[[], Reach]) -> None:
        """Claim and run operations until cancelled."""
        self.controller, self.reach = controller, reach
        listener: asyncio.Task[None] | None = None
        log.info("fleet executor started", extra={"concurrency": self.concurrency})
        try:
            while True:
                try:
                    if await self.tick() >= 0 and listener is None and self.listen:
                        listener = asyncio.create_task(self._listen(), name="fleet-listen")
                except Exception as exc:  # the database is away: try again at the next poll
                    log.warning("fleet executor tick failed: %s", type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll)
                self._wake.clear()
        finally:
            if listener is not None:
                listener.cancel()
            for task in list(self._running):
                task.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)

    def wake(self) -> None:
        """Look for work now."""
        self._wake.set()

    async def tick(self) -> int:
        """One round: renew leases, claim due operations and checks; how many started.

        -1 when this process reaches no device (no MQTT, no WebSocket session): then
        the executor touches no database at all.
        """
        now = time.monotonic()
        if self._running and now - self._renewed > self.ledger.lease.total_seconds() / 3:
            self._renewed = now
            await asyncio.to_thread(self.ledger.renew, list(set(self._running.values())))
        reach = self.reach()
        if not reach.mqtt and not reach.websocket:
            return -1
        started = 0
        for mode in ("start", "check"):
            free = self.concurrency - len(self._running)
            if free < 1:
                break
            claim = claim_due if mode == "start" else claim_checks
            for claimed in await asyncio.to_thread(self.ledger.claim, claim, free, reach):
                log.debug(
                    "fleet operation claimed",
                    extra={
                        "operation": str(claimed.op.id),
                        "kind": claimed.op.kind.value,
                        "mode": mode,
                    },
                )
                task = asyncio.create_task(self.turn(claimed, mode))
                self._running[task] = claimed.op.id
                task.add_done_callback(self._finished)
                started += 1
        return started

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self._wake.set()

    async def drain(self) -> None:
        """Wait for the operations this executor runs now (tests)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def _listen(self) -> None:
        """Wake on every NOTIFY of a new operation; reconnect after a failure."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.runtime.database_url, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    async for _ in connection.notifies():
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("fleet listener reconnects: %s", type(exc).__name__)
                await asyncio.sleep(5)

    # -- notifications ------------------------------------------------------------------

    async def on_event(self, endpoint_id: str, event: Notification) -> None:
        """Resume the device's waiting operation with ``event`` (see the module docstring).

        Awaited inside the notification's hook, so the NotifyResp follows the recorded
        outcome (or the handing over to this process's turn of the operation).  The
        resume sends no command: a message due next (``Activate()`` after
        ``TransferComplete!``) is sent by a check turn the recorded ``Proceed`` makes due
        at once, so it never waits for a NotifyResp held back by its own request.
        """
        if self.controller is None or not settles(event):
            return
        await self._settle(endpoint_id, event)

    async def _settle(self, endpoint_id: str, event: Notification) -> None:
        device_id = await asyncio.to_thread(self.ledger.device_id, endpoint_id)
        if device_id is None:
            return
        handover = self._turns.get(device_id)
        if handover is not None:  # a turn of this process holds the operation: it resumes
            handover.hand(event)
            return
        await self._resume(device_id, endpoint_id, event)

    async def _resume(self, device_id: uuid.UUID, endpoint_id: str, event: Notification) -> None:
        """Take the device's waiting operation and resume it with ``event`` (busy: wait)."""
        deadline = time.monotonic() + self.timeout
        while True:
            taken = await asyncio.to_thread(self.ledger.take, device_id, endpoint_id)
            if taken is False:
                return
            if isinstance(taken, Claimed):
                await self.turn(taken, "resume", event)
                return
            if time.monotonic() > deadline:  # still busy: the next check settles it
                return
            await asyncio.sleep(0.1)

    async def on_contact(self, endpoint_id: str) -> None:
        """The device connected: its waiting operation is due for a check now."""
        device_id = await asyncio.to_thread(self.ledger.device_id, endpoint_id)
        if device_id is not None and await asyncio.to_thread(self.ledger.nudge, device_id):
            self._wake.set()

    # -- one turn -----------------------------------------------------------------------

    async def turn(self, claimed: Claimed, mode: Mode, event: Notification | None = None) -> None:
        """Run the handler of ``claimed`` once (``mode``) and record what it answers.

        A start or check turn takes the notifications of its device heard meanwhile
        (:mod:`.handover`) and resumes the operation with each once its outcome is
        recorded; one heard while a check only reads cuts that read short.
        """
        if mode == "resume":
            await self._turn(claimed, mode, event, None)
            return
        device_id, handover = claimed.op.device_id, Handover(cuttable=mode == "check")
        self._turns[device_id] = handover
        try:
            await self._turn(claimed, mode, None, handover)
        finally:
            if self._turns.get(device_id) is handover:
                del self._turns[device_id]
        for heard in handover.events:
            await self._resume(device_id, claimed.endpoint_id, heard)

    async def _turn(
        self,
        claimed: Claimed,
        mode: Mode,
        event: Notification | None,
        handover: Handover | None,
    ) -> None:
        op = claimed.op
        handler = handlers.handler_for(op.kind)
        controller = self.controller
        assert controller is not None, "FleetExecutor.run() sets the controller"
        step: list[str] = [op.step or ""]

        async def sending(step_name: str, result: Mapping[str, Any]) -> None:
            if handover is None:  # a resume, in the notification's hook: Proceed instead
                raise SendInResumeError(op.kind.value)
            handover.sending = True
            step[0] = step_name
            if not await asyncio.to_thread(self.ledger.mark, op.id, step_name, result):
                raise LeaseLostError

        run = Run(
            op,
            claimed.endpoint_id,
            controller=controller,
            runtime=self.runtime,
            timeout=self.timeout,
            sending=sending,
        )
        keep_check = False
        outcome: Outcome | None
        try:
            if handler is None:
                outcome = failed(Reason.INTERNAL_ERROR, fault="no handler for this kind")
            elif handover is None:
                assert event is not None
                outcome = await handler.resume(run, event)
                keep_check = outcome is None
            else:
                call = handler.start(run) if mode == "start" else handler.check(run)
                outcome = await handover.run(call)  # None: a check's read was cut short
            outcome = outcome or Wait(step[0])
        except LeaseLostError:
            return
        except UspErrorResponse as exc:
            outcome = failed(
                Reason.DEVICE_ERROR, usp_code=exc.error.err_code, fault=exc.error.err_msg
            )
        except PurposeRefusedError as exc:
            outcome = failed(Reason.REFUSED, fault=exc.code)
        except DeviceCommunicationError:
            if not run.sent:
                await asyncio.to_thread(self.ledger.requeue, op.id)
                return
            outcome = Wait(step[0])
        except Exception as exc:
            log.exception("fleet operation failed", extra={"operation": str(op.id)})
            outcome = failed(Reason.INTERNAL_ERROR, fault=type(exc).__name__)
        await asyncio.to_thread(self.ledger.record, op.id, outcome, keep_check)
        if isinstance(outcome, Proceed):  # due for a check now: its turn sends the message
            self._wake.set()
