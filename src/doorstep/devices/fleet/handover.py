"""Notifications handed to the turn that holds their device's operation (decision 0038).

A settling notification (TransferComplete!, Boot! …) that arrives while this process
runs a ``start`` or ``check`` turn of the device's operation is *handed* to that turn
instead of being waited for inside the notification's hook: the hook returns at once
(the NotifyResp goes), and the executor resumes the operation with it as soon as the
turn's own outcome is recorded, with a fresh view of the row.

A ``check`` turn that has sent nothing in this turn — it only reads: the uptime, an
image slot's status — is cut short by the notification: a device that reboots loses
the request in flight, which would otherwise hold the operation ``running`` until the
request timeout and make the device's ``Boot!`` wait for it.  A turn that has begun
to send (``run.sending`` committed a step) is never cut short, so no command is left
half-sent; a ``start`` turn never is.  A process that dies with a notification handed
over loses it, as one that stops inside a hook does: the operation's lease lapses and
a check asks the device.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from doorstep.usp import Notification

T = TypeVar("T")


class Handover:
    """One start or check turn: the notifications handed to it, whether it is sending."""

    def __init__(self, cuttable: bool) -> None:
        self.cuttable = cuttable
        """A check: a pure read may be cut short by a notification."""
        self.sending = False
        """The turn committed a step: a command is under way (never cut short)."""
        self.events: list[Notification] = []
        """The notifications handed over, in the order they arrived."""
        self._arrived = asyncio.Event()

    def hand(self, event: Notification) -> None:
        """Give ``event`` to the turn (it resumes the operation with it after its record)."""
        self.events.append(event)
        self._arrived.set()

    async def run(self, call: Awaitable[T]) -> T | None:
        """``call``'s answer, or None when a notification cut short a check that only read."""
        task = asyncio.ensure_future(call)
        arrived = asyncio.ensure_future(self._arrived.wait())
        try:
            await asyncio.wait({task, arrived}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done() and self.cuttable and not self.sending:
                task.cancel()  # it waits for a read: the device's word came meanwhile
            await asyncio.wait({task})
            return None if task.cancelled() else task.result()
        finally:
            arrived.cancel()
            if not task.done():  # this turn itself was cancelled (the executor stops)
                task.cancel()
