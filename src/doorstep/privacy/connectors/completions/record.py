"""Record a completion event: a record of a connected system was closed.

:func:`record` checks everything before it stores anything — the system is
declared, the kind of record is one of the system's ``completions:``, the
record's id is a reference (letters, digits, ``._:-``), the instant is aware
and not in the future, the subject (when given) exists — and refuses bad input
with :class:`~doorstep.core.errors.InvalidInputError` (an unknown system:
:class:`~doorstep.core.errors.NotFoundError`), nothing stored.  The
deletion is due at the event plus the period of the kind's retention rule in
force (``DOORSTEP_RETENTION_PERIODS`` may shorten it).  A record already
recorded is a :class:`~doorstep.core.errors.ConflictError`.

Audited ``completion.recorded`` (system, kind, rule, event id; never the
record's id).  The caller owns the transaction.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record as audit
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.core.settings import Settings
from doorstep.privacy.connectors.completions.models import CompletionEvent, CompletionState
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.datamap.systems import Completion, ConnectedSystem
from doorstep.privacy.retention.periods import effective_period
from doorstep.privacy.subjects.models import Subject

PURPOSE = "privacy.rights"
#: A record's id in its system: an order number, an account id (never free text).
RECORD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}")


@dataclass(frozen=True, slots=True)
class Closing:
    """What a completion event says, as given (checked by :func:`record`)."""

    system: str
    kind: str
    record_id: str
    completed_at: datetime | None = None
    subject_id: uuid.UUID | None = None


def completion_of(pack: PolicyPack, system: str, kind: str) -> tuple[ConnectedSystem, Completion]:
    """The declared system (else NotFoundError) and kind of record (else InvalidInputError)."""
    found = pack.systems.systems.get(system)
    if found is None:
        raise NotFoundError("no such connected system", system=system)
    completion = found.completions.get(kind)
    if completion is None:
        raise InvalidInputError.of(
            "kind", "declared_kind", "the system's completions name no such record kind"
        )
    return found, completion


def record(
    session: Session,
    clock: Clock,
    pack: PolicyPack,
    settings: Settings,
    given: Closing,
    *,
    actor: str,
) -> CompletionEvent:
    """Store the event and schedule its deletion (see the module docstring)."""
    _, completion = completion_of(pack, given.system, given.kind)
    if not RECORD_ID.fullmatch(given.record_id):
        raise InvalidInputError.of(
            "record_id", "reference", "the record's id must be a reference (an id)"
        )
    now = clock.now()
    at = given.completed_at or now
    if at.tzinfo is None:
        raise InvalidInputError.of("at", "aware", "the instant must carry its time zone")
    if at > now:
        raise InvalidInputError.of("at", "not_future", "a record cannot be closed in the future")
    if given.subject_id is not None and session.get(Subject, given.subject_id) is None:
        raise InvalidInputError.of("subject_id", "known_subject", "no such subject")
    exists = session.scalar(
        sa.select(CompletionEvent.id).where(
            CompletionEvent.system == given.system,
            CompletionEvent.kind == given.kind,
            CompletionEvent.record_id == given.record_id,
        )
    )
    if exists is not None:
        raise ConflictError("this record's completion is recorded already", event=str(exists))
    period = effective_period(pack, settings, completion.retention)
    row = CompletionEvent(
        id=uuid.uuid4(),
        system=given.system,
        kind=given.kind,
        record_id=given.record_id,
        subject_id=given.subject_id,
        completed_at=at,
        rule=completion.retention,
        due_at=at + period if period is not None else at,
        state=CompletionState.SCHEDULED.value,
        attempts=0,
        recorded_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        action="completion.recorded",
        actor=actor,
        subject_id=given.subject_id,
        purpose=PURPOSE,
        details={"event": str(row.id), "system": row.system, "kind": row.kind, "rule": row.rule},
    )
    return row
