"""How a simulated agent sends and keeps work going: :class:`Outbound`, a base of
:class:`~doorstep.usp.agent_sim.agent.SimAgent`.

* :meth:`Outbound.notify` sends a notification to the enabled subscriptions of the
  controller that name its type and path (``send_resp`` = their NotifRetry); a lenient
  agent sends it to ``lenient_id`` when none does.  Without a session it is dropped;
  :meth:`Outbound.deliver` keeps it for the next session instead, and
  :meth:`Outbound.queue` always does (what follows ``Boot!``), up to
  :data:`PENDING_LIMIT` notifications.
* :meth:`Outbound.spawn` runs work for the session (cancelled when it ends),
  :meth:`Outbound.job` work for the device (cancelled by a reboot or a power cut only),
  :meth:`Outbound.later` an answer a slow device sends late (``SimTiming.answer``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable

from doorstep.usp._msg import Msg
from doorstep.usp._notify import Notification, Notify
from doorstep.usp.agent_sim import _tables
from doorstep.usp.agent_sim.datamodel import DataModel

log = logging.getLogger("doorstep.usp.agent_sim")

SendMsg = Callable[[Msg], Awaitable[None]]
Pending = tuple[str, str, Notification, str]
PENDING_LIMIT = 64
"""Notifications kept while offline; older ones are dropped (as a full agent queue does)."""


class Outbound:
    """Sending notifications and running background work; state lives in the subclass."""

    __slots__ = ("_jobs", "_pending")

    model: DataModel
    strict: bool
    sessions: int
    _send: SendMsg | None
    _pending: list[Pending] | None
    _ids: itertools.count[int]
    _tasks: set[asyncio.Task[None]]
    _jobs: set[asyncio.Task[None]] | None

    def notify(self, notif_type: str, path: str, body: Notification, lenient_id: str) -> None:
        """Send ``body`` to each matching subscription; lenient mode sends it regardless."""
        send = self._send
        if send is None:
            return
        found = _tables.subscribers(self.model.values, notif_type, path)
        if not found and not self.strict and lenient_id:
            msg = Msg(self._msg_id(notif_type), Notify(lenient_id, body, send_resp=False))
            self.spawn(send(msg))
        for subscription in found:
            notify = Notify(subscription.id, body, send_resp=subscription.notif_retry)
            self.spawn(send(Msg(self._msg_id(notif_type), notify)))

    def deliver(self, notif_type: str, path: str, body: Notification, lenient_id: str) -> None:
        """:meth:`notify` now, or at the start of the next session when none is up."""
        if self._send is None:
            self.queue(notif_type, path, body, lenient_id)
        else:
            self.notify(notif_type, path, body, lenient_id)

    def queue(self, notif_type: str, path: str, body: Notification, lenient_id: str) -> None:
        """:meth:`notify` at the start of the next session, right after ``Boot!``."""
        pending = self._pending if self._pending is not None else []
        pending.append((notif_type, path, body, lenient_id))
        self._pending = pending[-PENDING_LIMIT:]

    def flush(self) -> None:
        """Send what waited for this session."""
        pending, self._pending = self._pending, None
        for notif_type, path, body, lenient_id in pending or ():
            self.notify(notif_type, path, body, lenient_id)

    def _msg_id(self, kind: str) -> str:
        return f"{kind}-{self.sessions}-{next(self._ids)}"

    def spawn(self, work: Awaitable[None]) -> asyncio.Task[None]:
        """Run ``work`` in the background until the session ends (errors are logged)."""
        task = asyncio.get_running_loop().create_task(_guarded(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def later(self, seconds: float, send: Callable[[], Awaitable[None]]) -> None:
        """Run ``send()`` after ``seconds`` unless the session ends first (a slow answer)."""

        async def wait_then_send() -> None:
            await asyncio.sleep(seconds)
            await send()

        self.spawn(wait_then_send())

    def job(self, work: Awaitable[None]) -> asyncio.Task[None]:
        """Run ``work`` until it ends, a reboot or a power cut (sessions may come and go)."""
        task = asyncio.get_running_loop().create_task(_guarded(work))
        jobs = self._jobs if self._jobs is not None else set()
        jobs.add(task)
        self._jobs = jobs
        task.add_done_callback(jobs.discard)
        return task

    def cancel_jobs(self) -> None:
        """End every job but the one calling (a reboot ends the work under way)."""
        current = asyncio.current_task()
        for task in list(self._jobs or ()):
            if task is not current:
                task.cancel()


async def _guarded(work: Awaitable[None]) -> None:
    """``work``; an error (the session went away while sending …) is logged at debug level."""
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.debug("simulated agent task ended: %s", type(exc).__name__)
