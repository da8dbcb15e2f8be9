"""The desk's side of completion events: list them, and confirm a manual system's deletion.

* :func:`listing` — a system's events, newest first (optionally one state);
* :func:`confirm` — the desk deleted a ``manual`` event's record by hand:
  ``done`` with an evidence reference (letters, digits, ``._:-``; never free
  text), audited ``completion.done``; an event in another state is a
  :class:`~doorstep.core.errors.ConflictError`, nothing changed.
"""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record as audit
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.connectors.completions.models import CompletionEvent, CompletionState
from doorstep.privacy.connectors.completions.record import PURPOSE

_EVIDENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")


def listing(
    session: Session, system: str, *, state: str | None = None, limit: int = 500
) -> list[CompletionEvent]:
    """The system's events (of ``state`` only, when given), newest first."""
    if state is not None and state not in {item.value for item in CompletionState}:
        raise InvalidInputError(
            "no such state", errors=[{"field": "state", "rule": "completion_state"}]
        )
    query = sa.select(CompletionEvent).where(CompletionEvent.system == system)
    if state is not None:
        query = query.where(CompletionEvent.state == state)
    query = query.order_by(CompletionEvent.created_at.desc(), CompletionEvent.id).limit(limit)
    return list(session.scalars(query))


def confirm(
    session: Session, clock: Clock, system: str, event_id: uuid.UUID, evidence: str, *, actor: str
) -> CompletionEvent:
    """Record that the desk deleted a manual event's record (see the module docstring)."""
    if not _EVIDENCE.fullmatch(evidence):
        raise InvalidInputError(
            "the evidence must be a reference", errors=[{"field": "evidence", "rule": "reference"}]
        )
    row = session.get(CompletionEvent, event_id, with_for_update=True)
    if row is None or row.system != system:
        raise NotFoundError("no such completion event")
    if row.state != CompletionState.MANUAL.value:
        raise ConflictError("only an event waiting for the desk can be confirmed", state=row.state)
    row.state, row.evidence, row.done_at = CompletionState.DONE.value, evidence, clock.now()
    audit(
        session,
        action="completion.done",
        actor=actor,
        subject_id=row.subject_id,
        purpose=PURPOSE,
        details={"event": str(row.id), "system": row.system, "kind": row.kind, "manual": True},
    )
    return row
