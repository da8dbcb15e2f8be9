"""How a result reaches the caller waiting for it, in whichever process the device answered.

A diagnostic's answer (the device's Notify OperationComplete) arrives at the controller
process that runs its operation; the caller waits in another (``serve`` answering the
app or the privacy center, the ``doorstep diagnostics`` command).  At the end of a run
the handler tells the waiting callers on the PostgreSQL channel :data:`CHANNEL`
(``NOTIFY`` in the transaction that ends the run, so the word leaves at its commit):

* a run whose result is stored sends its id and state only — the caller reads the row;
* a run whose result the pack does not store sends the result itself, which is then
  nowhere but in the waiting callers' memory: PostgreSQL keeps a notification in its
  notification queue (``pg_notify``: not a table, not WAL-logged) until every listener
  has read it, and drops it at a restart.  A caller that was not listening when the run
  ended never sees that result (it sees the state and times of the run).

:func:`listening` opens one connection per waiting caller, LISTENs *before* the caller
queues its run, and yields a :class:`Waiter`; we accept a connection per waiting
caller because waits are rare and capped (``diagnostics_wait_seconds``).  A payload is
at most :data:`MAX_PAYLOAD` bytes (PostgreSQL's limit is 8000): a longer relayed result
is cut to its status (a trace route of 64 hops fits).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session

CHANNEL = "doorstep_diagnostic_results"
MAX_PAYLOAD = 7900


def publish(
    session: Session, run_id: uuid.UUID, state: str, result: Mapping[str, Any] | None
) -> None:
    """Tell the waiting callers that ``run_id`` ended (at the commit of ``session``)."""
    word: dict[str, Any] = {"run": str(run_id), "state": state}
    if result is not None:
        word["result"] = dict(result)
    payload = json.dumps(word, separators=(",", ":"))
    if len(payload.encode()) > MAX_PAYLOAD:
        word["result"] = {"status": str((result or {}).get("status", ""))[:64], "cut": True}
        payload = json.dumps(word, separators=(",", ":"))
    session.execute(sa.select(sa.func.pg_notify(CHANNEL, payload)))


class Waiter:
    """The words of one listening connection, for one run at a time."""

    def __init__(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self._connection = connection

    async def word(self, run_id: uuid.UUID, timeout: float) -> dict[str, Any] | None:
        """The end of ``run_id`` (``state`` and, when not stored, ``result``), or None."""
        wanted = str(run_id)
        try:
            async with asyncio.timeout(timeout):
                async for note in self._connection.notifies():
                    try:
                        word = json.loads(note.payload)
                    except ValueError:
                        continue
                    if isinstance(word, dict) and word.get("run") == wanted:
                        return word
        except TimeoutError:
            return None
        return None


@contextlib.asynccontextmanager
async def listening(database_url: str) -> AsyncIterator[Waiter]:
    """A connection that LISTENs on :data:`CHANNEL` from now until the block ends."""
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, application_name="doorstep-diagnostics-wait"
    ) as connection:
        await connection.execute(f"LISTEN {CHANNEL}")
        yield Waiter(connection)
