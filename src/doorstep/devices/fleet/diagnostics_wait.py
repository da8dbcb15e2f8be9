"""Start a run and wait for its end: what the app's ``Prefer: wait``, the privacy center's
form and ``doorstep diagnostics run --wait`` share.

:func:`start_and_wait` LISTENs for the end of runs (:mod:`.diagnostics_relay`) *before*
the run is committed, starts it in a transaction of its own (refusals keep their
audit record: ``audited_transaction``), waits up to ``wait`` seconds for its end, then
reads it in another transaction.  The view carries the result the caller was relayed
when the pack does not store the kind — the only moment it exists outside the device.
With ``wait`` 0 nothing is awaited (the run is started and read).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session

from doorstep.audit.entries import audited_transaction
from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.diagnostics_relay import listening
from doorstep.devices.fleet.diagnostics_views import RunView, with_relayed

Start = Callable[[Session], uuid.UUID]
Read = Callable[[Session, uuid.UUID], RunView]


async def start_and_wait(runtime: Runtime, start: Start, read: Read, *, wait: float) -> RunView:
    """Start the run (``start(session)`` returns its id), wait for it, read it."""

    def begin() -> uuid.UUID:
        with audited_transaction(runtime.sessions) as session:
            return start(session)

    def look(run_id: uuid.UUID) -> RunView:
        with audited_transaction(runtime.sessions) as session:
            return read(session, run_id)

    if wait <= 0:
        run_id = await asyncio.to_thread(begin)
        return await asyncio.to_thread(look, run_id)
    async with listening(runtime.database_url) as waiter:
        run_id = await asyncio.to_thread(begin)
        word = await waiter.word(run_id, wait)
    return with_relayed(await asyncio.to_thread(look, run_id), word)
