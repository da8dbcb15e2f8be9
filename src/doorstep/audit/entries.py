"""Audit entries of the privacy engine, and a transaction that keeps refusals on record.

A refused use of personal data is written to the audit trail in the caller's
session, then the refusal is raised.  When the caller lets the error end its
transaction, the rollback would take the audit record with it; so refusals carry
their :class:`AuditEntry`, and :func:`audited_transaction` writes it again, in a
fresh transaction, after the rollback.  We accept that a caller who catches the
refusal *and* commits in another session gets no second copy: the record is in
the session that saw the refusal.

:func:`commit_entry` writes an entry at once, in a transaction of its own: for an
action about to leave the database (a command to a device), so that a process killed
before the caller's transaction commits still leaves it on record.

Actors are written ``kind:id``: ``subject:<uuid>``, ``staff:<uuid>``, ``system:<name>``;
actions ``area.verb``; details hold ids and names only (the trail validates them).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from doorstep.core.database import CLOCK_KEY
from doorstep.core.errors import DoorstepError

#: The audit action of every attempted use of personal data; ``outcome`` says
#: whether it was allowed (``ok``) or ``refused``.
USE_ACTION = "personal_data.used"

DetailValue = str | int | bool | None


def subject_actor(subject_id: uuid.UUID) -> str:
    """The actor string of a data subject acting for themselves."""
    return f"subject:{subject_id}"


def staff_actor(staff_id: uuid.UUID) -> str:
    """The actor string of a staff member."""
    return f"staff:{staff_id}"


def system_actor(name: str) -> str:
    """The actor string of a part of Doorstep acting on its own (``system:cli``)."""
    return f"system:{name}"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit record, ready to be written with :func:`doorstep.audit.services.record`.

    ``at`` dates it; without it the session's clock (or the database) does.
    """

    action: str
    actor: str
    subject_id: uuid.UUID | None = None
    purpose: str | None = None
    element: str | None = None
    outcome: str = "ok"
    details: Mapping[str, DetailValue] = field(default_factory=dict)
    at: datetime | None = None

    def write(self, session: Session) -> None:
        """Record the entry in ``session``'s transaction."""
        from doorstep.audit.services import record

        record(
            session,
            action=self.action,
            actor=self.actor,
            subject_id=self.subject_id,
            purpose=self.purpose,
            element=self.element,
            outcome=self.outcome,
            details=dict(self.details),
            at=self.at,
        )


def audit_entry_of(exc: BaseException) -> AuditEntry | None:
    """The audit entry a refusal carries, if it carries one."""
    entry = getattr(exc, "audit_entry", None)
    return entry if isinstance(entry, AuditEntry) else None


@contextmanager
def audited_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Like :func:`doorstep.core.database.transaction`, but refusals stay on record.

    When a :class:`DoorstepError` carrying an :class:`AuditEntry` (a refusal of
    the purpose gate or of staff access control) ends the transaction, the
    transaction is rolled back as usual and the entry is then written and
    committed in a transaction of its own, before the error goes on up.
    """
    try:
        with factory() as session, session.begin():
            yield session
    except DoorstepError as exc:
        entry = audit_entry_of(exc)
        if entry is not None:
            with factory() as session, session.begin():
                entry.write(session)
        raise


def commit_entry(session: Session, entry: AuditEntry) -> None:
    """Write ``entry`` in a transaction of its own, committed before this returns.

    The transaction runs on a connection of ``session``'s own bind (the engine; in a test
    bound to one connection, that one, where the caller's transaction holds it) and
    dates the entry by the clock ``session`` carries.  ``session``'s own transaction
    and what it holds (locks included) are untouched.
    """
    clock = {CLOCK_KEY: session.info[CLOCK_KEY]} if CLOCK_KEY in session.info else {}
    with Session(bind=session.get_bind(), info=clock) as own, own.begin():
        entry.write(own)  # not session's info: it holds the caller's events, not ours
