"""Events buffered on the session and written in one statement, inside the caller's transaction.

:func:`buffer` appends a validated row to ``session.info``; :func:`flush` writes
every buffered row with one ``COPY`` on the session's connection (one round
trip however many events).  Listeners on every
:class:`~sqlalchemy.orm.Session` flush the buffer:

* ``before_commit`` — so a committed transaction always carries its events;
* ``after_flush_postexec`` — so events recorded *by ORM flush hooks* are written
  with the rows they describe (a commit's own flush runs after ``before_commit``);
  events recorded before a flush wait for the commit, so a transaction writes its
  events with one ``COPY`` however many flushes it makes (each flush used to write
  what was buffered: ~9 round trips per erasure request; decision 0051).  Code
  that must read its own events back before the commit calls
  :func:`doorstep.audit.services.flush_events`;
* ``after_commit`` — logs an error if events were recorded too late to join
  (by code running after our ``before_commit``);

and a buffer that reaches :data:`FLUSH_AT` rows is written at once, which keeps
memory bounded in long transactions.

Savepoints.  A row belongs to the transaction (or SAVEPOINT) that was innermost
when it was recorded.  When a SAVEPOINT rolls back, rows that belong to it are
dropped, and rows that belong to an outer transaction but were *written* inside
the rolled-back SAVEPOINT (by an early flush) are buffered again, so "data
without its event" or "event without its data" cannot happen at any nesting
level.  When the outermost transaction ends, the buffer is discarded.  We accept
keeping written rows in memory while a SAVEPOINT is open, because SAVEPOINTs are
rare and short here; without one nothing is kept after it is written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, cast

import psycopg
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger("doorstep.audit")

#: Key of the buffer in ``session.info``.
STATE_KEY = "doorstep.audit.buffer"
#: Key in ``session.info`` of how many events were buffered when a flush began.
_FLUSH_MARK = "doorstep.audit.flush_mark"
#: Buffered events are written early once this many are waiting.
FLUSH_AT = 1_000

#: (at ISO string or None, actor, action, purpose, element, subject id, outcome, details JSON)
Row = tuple[str | None, str, str, str | None, str | None, str | None, str, str]

_COPY_DATED = (
    "COPY audit_events (at, actor, action, purpose, element, subject_id, outcome, details) "
    "FROM STDIN"
)
# Without ``at`` the column default, the database's transaction time, dates the rows.
_COPY_UNDATED = (
    "COPY audit_events (actor, action, purpose, element, subject_id, outcome, details) FROM STDIN"
)


def copy_rows(session: Session, statement: str, rows: Iterable[Sequence[Any]]) -> None:
    """Stream ``rows`` through ``COPY … FROM STDIN`` on the session's own connection.

    COPY is the cheapest way into PostgreSQL from Python: psycopg encodes rows in
    C, where array parameters are built value by value in Python (measured about
    ten times slower for 30,000 rows).  It runs on the same connection, so in
    the same transaction, and fires the same triggers as an INSERT.
    """
    dbapi = session.connection().connection.dbapi_connection
    connection = cast("psycopg.Connection[Any]", dbapi)
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


@dataclass(slots=True)
class _Entry:
    owner: SessionTransaction | None
    row: Row


@dataclass(slots=True)
class _State:
    buffered: list[_Entry] = field(default_factory=list)
    # (SAVEPOINT it was written in, entry): kept until that SAVEPOINT's fate is known.
    written: list[tuple[SessionTransaction, _Entry]] = field(default_factory=list)


def _state(session: Session, *, create: bool) -> _State | None:
    state = session.info.get(STATE_KEY)
    if state is None and create:
        state = session.info[STATE_KEY] = _State()
    return state


def _innermost(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


def _within(transaction: SessionTransaction | None, boundary: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is boundary:
            return True
        transaction = transaction.parent
    return False


def buffer(session: Session, row: Row) -> None:
    """Add one validated row to ``session``'s buffer (written at commit at the latest)."""
    if session.get_transaction() is None:
        # Begin now, as a query would: the event belongs to this transaction, and a
        # session closed without committing it drops the event with the transaction.
        session.connection()
    state = _state(session, create=True)
    assert state is not None
    state.buffered.append(_Entry(_innermost(session), row))
    if len(state.buffered) >= FLUSH_AT:
        flush(session)


def flush(session: Session) -> int:
    """Write every buffered event in the session's transaction now; return how many."""
    state = _state(session, create=False)
    if state is None or not state.buffered:
        return 0
    entries, state.buffered = state.buffered, []
    # One COPY per run of rows dated alike (in practice: one for the whole buffer).
    for dated, run in groupby(entries, key=lambda entry: entry.row[0] is not None):
        if dated:
            copy_rows(session, _COPY_DATED, (entry.row for entry in run))
        else:
            copy_rows(session, _COPY_UNDATED, (entry.row[1:] for entry in run))
    savepoint = session.get_nested_transaction()
    if savepoint is not None:
        state.written.extend((savepoint, entry) for entry in entries)
    return len(entries)


def pending_count(session: Session) -> int:
    """How many events are buffered on ``session`` and not written yet."""
    state = _state(session, create=False)
    return len(state.buffered) if state else 0


def _before_commit(session: Session) -> None:
    flush(session)


def _before_flush(session: Session, _context: object, _instances: object) -> None:
    state = _state(session, create=False)
    session.info[_FLUSH_MARK] = len(state.buffered) if state is not None else 0


def _after_flush_postexec(session: Session, _context: object) -> None:
    state = _state(session, create=False)
    mark = session.info.pop(_FLUSH_MARK, 0)
    if state is not None and len(state.buffered) > mark:  # recorded by the flush's hooks
        flush(session)


def _after_commit(session: Session) -> None:
    state = _state(session, create=False)
    if state is not None and state.buffered:
        # Recorded by code that ran after our before_commit (say another
        # before_commit listener): too late to join the transaction.  Say so loudly.
        log.error(
            "audit events recorded after the commit began were not written",
            extra={"count": len(state.buffered)},
        )


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    state = _state(session, create=False)
    if state is None:
        return
    boundary = previous  # what was really rolled back: the nearest SAVEPOINT or the root
    while boundary.parent is not None and not boundary.nested:
        boundary = boundary.parent
    if boundary.parent is None:
        session.info.pop(STATE_KEY, None)
        return
    again = [e for where, e in state.written if _within(where, boundary)]
    again = [e for e in again if not _within(e.owner, boundary)]
    state.written = [(w, e) for w, e in state.written if not _within(w, boundary)]
    state.buffered = again + [e for e in state.buffered if not _within(e.owner, boundary)]


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(STATE_KEY, None)


def install() -> None:
    """Register the listeners on :class:`Session` (idempotent)."""
    hooks = (
        ("before_commit", _before_commit),
        ("before_flush", _before_flush),
        ("after_flush_postexec", _after_flush_postexec),
        ("after_commit", _after_commit),
        ("after_soft_rollback", _after_soft_rollback),
        ("after_transaction_end", _after_transaction_end),
    )
    for name, function in hooks:
        if not event.contains(Session, name, function):
            event.listen(Session, name, function)
