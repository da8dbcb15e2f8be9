"""Restrictions of processing: put one in force, lift it, list them.

While a restriction is in force the gate refuses every use of the subject's
data for that purpose; the data itself stays stored (nothing here deletes).  A
data-subject request (restriction, objection) is the usual caller.  Each change
is audited under ``privacy.rights``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.entries import AuditEntry
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.restrictions.models import Restriction, RestrictionReason

AUDIT_PURPOSE = "privacy.rights"


@dataclass(frozen=True, slots=True)
class RestrictionRecord:
    """A restriction as services hand it out."""

    id: uuid.UUID
    subject_id: uuid.UUID
    purpose: str
    reason: RestrictionReason
    since: datetime
    lifted_at: datetime | None

    @property
    def in_force(self) -> bool:
        """Whether the restriction still applies."""
        return self.lifted_at is None


def _record(row: Restriction) -> RestrictionRecord:
    return RestrictionRecord(
        row.id, row.subject_id, row.purpose, row.reason, row.since, row.lifted_at
    )


def _in_force(session: Session, subject_id: uuid.UUID, purpose: str) -> Restriction | None:
    return session.scalars(
        sa.select(Restriction)
        .where(
            Restriction.subject_id == subject_id,
            Restriction.purpose == purpose,
            Restriction.lifted_at.is_(None),
        )
        .with_for_update()
    ).one_or_none()


def restrict(
    session: Session,
    *,
    subject_id: uuid.UUID,
    purpose: str,
    reason: RestrictionReason | str,
    clock: Clock,
    actor: str,
    pack: PolicyPack,
) -> RestrictionRecord:
    """Put a restriction in force from now; :class:`ConflictError` if one already is.

    ``purpose`` must be a purpose of ``pack``, the pack in force (:class:`InvalidInputError`
    otherwise).
    """
    if purpose not in pack.purposes:
        raise InvalidInputError(
            f"unknown purpose {purpose!r}", errors=[{"field": "purpose", "rule": "known_purpose"}]
        )
    try:
        code = RestrictionReason(reason)
    except ValueError:
        raise InvalidInputError(
            "unknown restriction reason", errors=[{"field": "reason", "rule": "reason_code"}]
        ) from None
    if _in_force(session, subject_id, purpose) is not None:
        raise ConflictError(
            "a restriction is already in force for this purpose",
            purpose=purpose,
            reason="already_restricted",
        )
    row = Restriction(subject_id=subject_id, purpose=purpose, reason=code, since=clock.now())
    session.add(row)
    session.flush()
    AuditEntry(
        action="restriction.added",
        actor=actor,
        subject_id=subject_id,
        purpose=AUDIT_PURPOSE,
        details={"restricted_purpose": purpose, "reason": code.value, "restriction": str(row.id)},
        at=row.since,
    ).write(session)
    return _record(row)


def lift(
    session: Session, *, subject_id: uuid.UUID, purpose: str, clock: Clock, actor: str
) -> RestrictionRecord:
    """Lift the restriction in force (processing may resume); :class:`NotFoundError` if none."""
    row = _in_force(session, subject_id, purpose)
    if row is None:
        raise NotFoundError("no restriction in force for this purpose", purpose=purpose)
    row.lifted_at = max(clock.now(), row.since)
    session.flush()
    AuditEntry(
        action="restriction.lifted",
        actor=actor,
        subject_id=subject_id,
        purpose=AUDIT_PURPOSE,
        details={"restricted_purpose": purpose, "restriction": str(row.id)},
        at=row.lifted_at,
    ).write(session)
    return _record(row)


def restrictions_of(
    session: Session, subject_id: uuid.UUID, *, include_lifted: bool = False
) -> list[RestrictionRecord]:
    """The subject's restrictions, oldest first (only those in force unless asked)."""
    query = sa.select(Restriction).where(Restriction.subject_id == subject_id)
    if not include_lifted:
        query = query.where(Restriction.lifted_at.is_(None))
    rows = session.scalars(query.order_by(Restriction.since, Restriction.id))
    return [_record(row) for row in rows]
