"""What a handler of one operation kind is, what it gets, and what it answers.

A handler is registered per :class:`~doorstep.devices.fleet.operations.OperationKind`
(:func:`register_handler`) and implements :class:`Handler`:

* ``start(run)`` — the operation was claimed (``running``): talk to the device and
  answer an :data:`Outcome`: :class:`Done` (succeeded or failed, with a reason code
  and the device's own error) or :class:`Wait` (the device's word comes later, as a
  notification or to a check).  Before the first message of each step the handler
  calls ``await run.sending(step)``, which commits the step and ``sent_at``: an
  operation whose executor dies before that is queued again, one after it never is
  (nothing is sent twice).
* ``resume(run, event)`` — a notification of the device arrived while the operation
  waits (TransferComplete!, OperationComplete, Boot!, ValueChange): answer an outcome,
  or None when the event is not the one awaited (the operation keeps waiting).  It runs
  inside the controller's hook of that notification, whose NotifyResp waits for it, so
  it may read the device (a Get) but **never sends a command**: when the event means
  the next step's message is due (``Activate()`` after ``TransferComplete!``), it
  answers :class:`Proceed` with the step reached, and ``check`` sends that message in a
  turn of its own, due at once.  The executor refuses ``run.sending`` in a resume.
* ``check(run)`` — asked every ``fleet_check_seconds`` while the operation waits, when
  the device comes back, and at once after a :class:`Proceed`: read the device's state
  (or, at a step a Proceed recorded, send that step's message) and answer an outcome,
  or None to keep waiting.  Notifications are how an operation ends quickly; checks
  are how it ends even when a notification was lost (a broker or controller restart).

A handler raises nothing it can describe: the executor turns a USP Error Msg into a
failure with the device's code, an unreachable device into a new attempt (nothing
sent) or a wait (something sent), and anything else into ``internal_error``.  Every
request goes through :class:`Run`, which names the operation's purpose (the per-path
gate of the pack) and sends the operation's id as ``CommandKey``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.operations import OperationKind, OperationState
from doorstep.usp import GetResp, Notification, OperateResp, SetResp
from doorstep.usp.controller import Controller

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OperationView:
    """A claimed operation, as its handler sees it (a copy; the row is the truth)."""

    id: uuid.UUID
    device_id: uuid.UUID
    kind: OperationKind
    args: Mapping[str, Any]
    purpose: str
    actor: str
    step: str | None
    step_at: datetime | None
    sent_at: datetime | None
    result: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Wait:
    """The device's word comes later; ``result`` is merged into the row's."""

    step: str
    result: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Done:
    """The operation ended: ``state`` is succeeded or failed."""

    state: OperationState
    reason: str | None = None
    usp_code: int | None = None
    fault: str | None = None
    result: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Proceed:
    """The device's word moved the operation on to ``step``, whose message is not sent yet.

    Answered by ``resume`` only: the executor records ``step`` (``result`` merged) with
    the operation ``waiting`` and due for a check now, and wakes its claim loop, so the
    notification's NotifyResp goes at once and the next ``check`` sends the message,
    under the operation's lease like any turn.
    """

    step: str
    result: Mapping[str, Any] = field(default_factory=dict)


Outcome = Wait | Proceed | Done


def succeeded(reason: str | None = None, **result: Any) -> Done:
    """A success, with an optional reason code (``already_current``) and result values."""
    return Done(OperationState.SUCCEEDED, reason, result=result)


def failed(
    reason: str, *, usp_code: int | None = None, fault: str | None = None, **result: Any
) -> Done:
    """A failure with its reason code and, when the device gave them, its code and text."""
    return Done(OperationState.FAILED, reason, usp_code, (fault or None) and fault[:500], result)


class Sending(Protocol):
    """Commits the step (and ``sent_at``) before its first message is sent."""

    async def __call__(self, step_name: str, result: Mapping[str, Any]) -> None: ...


class Run:
    """One turn of an operation: its view, its device, and requests under its purpose."""

    def __init__(
        self,
        op: OperationView,
        endpoint_id: str,
        *,
        controller: Controller,
        runtime: Runtime,
        timeout: float,
        sending: Sending,
    ) -> None:
        self.op = op
        self.endpoint_id = endpoint_id
        self.runtime = runtime
        self.controller = controller
        self.timeout = timeout
        self.sent = op.sent_at is not None
        """Whether anything of this operation was sent to the device, in any turn."""
        self._sending = sending

    @property
    def command_key(self) -> str:
        """The CommandKey of every command: the operation's id."""
        return str(self.op.id)

    def now(self) -> datetime:
        """The runtime clock's now."""
        return self.runtime.clock.now()

    async def sending(self, step: str, **result: Any) -> None:
        """Record (commit) that the message of ``step`` is about to be sent."""
        await self._sending(step, result)
        self.sent = True

    async def get(self, paths: list[str]) -> GetResp:
        """A Get under the operation's purpose."""
        return await self.controller.get(
            self.endpoint_id, paths, timeout=self.timeout, purpose=self.op.purpose
        )

    async def set(self, updates: Mapping[str, str]) -> SetResp:
        """An all-or-nothing Set under the operation's purpose."""
        return await self.controller.set(
            self.endpoint_id, updates, timeout=self.timeout, purpose=self.op.purpose
        )

    async def operate(self, command: str, args: Mapping[str, str] | None = None) -> OperateResp:
        """Run ``command`` with the operation's id as CommandKey, under its purpose."""
        return await self.controller.operate(
            self.endpoint_id,
            command,
            args,
            command_key=self.command_key,
            timeout=self.timeout,
            purpose=self.op.purpose,
        )

    async def read(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` in a worker thread, in a read-only transaction of its own."""

        def run() -> T:
            with self.runtime.sessions() as session:
                return work(session)

        return await asyncio.to_thread(run)


class Handler(Protocol):
    """How one kind of operation talks to a device (see the module docstring)."""

    async def start(self, run: Run) -> Outcome:
        """Begin; the first message of each step after ``await run.sending(step)``."""
        ...

    async def resume(self, run: Run, event: Notification) -> Outcome | None:
        """The device sent ``event`` while the operation waits; None: not the awaited one.

        Sends no command (it runs in the notification's hook): :class:`Proceed` instead.
        """
        ...

    async def check(self, run: Run) -> Outcome | None:
        """Ask the device how the waiting operation stands; None: still under way."""
        ...


_HANDLERS: dict[OperationKind, Handler] = {}


def register_handler(kind: OperationKind, handler: Handler) -> None:
    """Make ``handler`` run the operations of ``kind`` (one handler per kind)."""
    existing = _HANDLERS.get(kind)
    if existing is not None and existing is not handler:
        raise ValueError(f"a handler of {kind.value!r} is registered already")
    _HANDLERS[kind] = handler


def handler_for(kind: OperationKind) -> Handler | None:
    """The handler registered for ``kind``, if any."""
    return _HANDLERS.get(kind)
