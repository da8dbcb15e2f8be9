"""Staff members and every staff read of personal data.

* :func:`add_staff`, :func:`deactivate_staff`, :func:`list_staff` — managing
  staff takes an admin (``by=``) or the operator's command line (``by=None``,
  actor ``system:cli``); each change is audited.
* :func:`staff_read` — the one way staff read a subject's personal data: the
  staff member must be active, the role must allow the element for the purpose
  (:mod:`doorstep.staff.permissions`), the purpose gate must allow it for the
  subject; the read is audited with actor ``staff:<id>`` and every refusal too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.entries import (
    USE_ACTION,
    AuditEntry,
    DetailValue,
    staff_actor,
    system_actor,
)
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, NotFoundError
from doorstep.privacy.purposes.exemptions import Exemption, use_without_consent
from doorstep.privacy.purposes.gate import PurposeGate
from doorstep.privacy.subjects.models import Subject, SubjectKind
from doorstep.staff._reader import Reader, needs_decryption, read_element
from doorstep.staff.exceptions import StaffPermissionDeniedError
from doorstep.staff.models import StaffMember, StaffRole
from doorstep.staff.permissions import StaffAction, may, may_read

ADMIN_PURPOSE = "staff.administration"
#: Whose grants a read under a consent exemption (a legal demand) needs: the privacy desk's.
LEGAL_DEMAND_PURPOSE = "privacy.rights"


@dataclass(frozen=True, slots=True)
class Staff:
    """A staff member as services hand it out."""

    id: uuid.UUID
    subject_id: uuid.UUID
    role: StaffRole
    active: bool
    created_at: datetime
    deactivated_at: datetime | None

    @property
    def actor(self) -> str:
        """How audit records name this staff member."""
        return staff_actor(self.id)


@dataclass(frozen=True, slots=True)
class StaffRead:
    """What a staff read returned: the element's values for the subject."""

    subject_id: uuid.UUID
    element: str
    purpose: str
    values: tuple[object, ...]


def _staff(row: StaffMember) -> Staff:
    return Staff(row.id, row.subject_id, row.role, row.active, row.created_at, row.deactivated_at)


def get_staff(session: Session, staff_id: uuid.UUID) -> Staff:
    """One staff member; :class:`NotFoundError` if unknown."""
    row = session.get(StaffMember, staff_id)
    if row is None:
        raise NotFoundError("no such staff member")
    return _staff(row)


def _deny(
    entry: AuditEntry, session: Session, detail: str, **fields: str
) -> StaffPermissionDeniedError:
    entry.write(session)
    return StaffPermissionDeniedError(detail, entry, **fields)


def require_action(session: Session, staff_id: uuid.UUID, action: StaffAction) -> Staff:
    """The acting staff member, if active and allowed ``action``; else a denial (audited)."""
    staff = get_staff(session, staff_id)
    reason = None if staff.active else "staff_inactive"
    if reason is None and not may(staff.role, action):
        reason = "role_not_permitted"
    if reason is not None:
        entry = AuditEntry(
            action=f"staff.{action.value}",
            actor=staff.actor,
            purpose=ADMIN_PURPOSE,
            outcome="refused",
            details={"reason": reason, "role": staff.role.value},
        )
        raise _deny(
            entry, session, f"{action.value} refused: {reason}", action=action.value, reason=reason
        )
    return staff


def _acting(session: Session, by: uuid.UUID | None, action: StaffAction) -> str:
    if by is None:
        return system_actor("cli")
    return require_action(session, by, action).actor


def add_staff(
    session: Session, *, role: StaffRole | str, clock: Clock, by: uuid.UUID | None = None
) -> Staff:
    """Create a staff member (and its subject of kind ``staff``) with ``role``."""
    actor = _acting(session, by, StaffAction.MANAGE_STAFF)
    subject = Subject(kind=SubjectKind.STAFF, created_at=clock.now())
    session.add(subject)
    session.flush()
    row = StaffMember(
        subject_id=subject.id, role=StaffRole(role), active=True, created_at=clock.now()
    )
    session.add(row)
    session.flush()
    AuditEntry(
        action="staff.added",
        actor=actor,
        subject_id=subject.id,
        purpose=ADMIN_PURPOSE,
        details={"staff": str(row.id), "role": row.role.value},
        at=row.created_at,
    ).write(session)
    return _staff(row)


def deactivate_staff(
    session: Session, staff_id: uuid.UUID, *, clock: Clock, by: uuid.UUID | None = None
) -> Staff:
    """End every permission of a staff member at once (idempotent).

    The last active admin cannot be deactivated (:class:`ConflictError`), so
    staff can always be managed from the console.
    """
    actor = _acting(session, by, StaffAction.MANAGE_STAFF)
    row = session.get(StaffMember, staff_id, with_for_update=True)
    if row is None:
        raise NotFoundError("no such staff member")
    if not row.active:
        return _staff(row)
    if row.role is StaffRole.ADMIN:
        admins = session.scalar(
            sa.select(sa.func.count())
            .select_from(StaffMember)
            .where(StaffMember.role == StaffRole.ADMIN, StaffMember.active.is_(True))
        )
        if (admins or 0) <= 1:
            raise ConflictError("the last active admin cannot be deactivated", reason="last_admin")
    row.active = False
    row.deactivated_at = clock.now()
    session.flush()
    AuditEntry(
        action="staff.deactivated",
        actor=actor,
        subject_id=row.subject_id,
        purpose=ADMIN_PURPOSE,
        details={"staff": str(row.id)},
        at=row.deactivated_at,
    ).write(session)
    return _staff(row)


def list_staff(
    session: Session, *, include_inactive: bool = False, by: uuid.UUID | None = None
) -> list[Staff]:
    """Staff members, oldest first (active ones unless asked); the listing is audited."""
    actor = _acting(session, by, StaffAction.MANAGE_STAFF)
    query = sa.select(StaffMember).order_by(StaffMember.created_at, StaffMember.id)
    if not include_inactive:
        query = query.where(StaffMember.active.is_(True))
    found = [_staff(row) for row in session.scalars(query)]
    AuditEntry(
        action="staff.listed",
        actor=actor,
        purpose=ADMIN_PURPOSE,
        details={"count": len(found), "include_inactive": include_inactive},
    ).write(session)
    return found


def staff_read(
    session: Session,
    staff_id: uuid.UUID,
    subject_id: uuid.UUID,
    element: str,
    purpose: str,
    *,
    gate: PurposeGate,
    metadata: sa.MetaData | None = None,
    reader: Reader | None = None,
    exemption: Exemption | None = None,
) -> StaffRead:
    """Read ``element`` of ``subject_id`` for ``purpose`` as staff member ``staff_id``.

    ``gate`` is the process's purpose gate (``Services.gate``: the pack in force).

    Refusals raise :class:`StaffPermissionDeniedError` (inactive staff, role not
    permitted) or :class:`PurposeRefusedError` (the gate), and are audited; an
    allowed read is audited before the values are returned.

    ``exemption`` (CORP-1.5): a read without the subject's consent (a legal demand)
    names one exemption code and its evidence; the role must be one that may
    read the element for the privacy desk (``privacy.rights``), and the read is
    audited with the code and the reference (:mod:`doorstep.privacy.purposes.exemptions`).
    """
    if metadata is None:
        from doorstep.core.models import schema_metadata

        schema = schema_metadata()

        metadata = schema
    staff = get_staff(session, staff_id)
    declaration = gate.declarations.get(element)
    reason = None
    if not staff.active:
        reason = "staff_inactive"
    elif declaration is not None and not may_read(
        staff.role, declaration, purpose if exemption is None else LEGAL_DEMAND_PURPOSE
    ):
        reason = "role_not_permitted"
    details: Mapping[str, DetailValue] = {"role": staff.role.value}
    if reason is not None:
        entry = AuditEntry(
            action=USE_ACTION,
            actor=staff.actor,
            subject_id=subject_id,
            purpose=purpose,
            element=element,
            outcome="refused",
            details={**details, "reason": reason},
        )
        raise _deny(
            entry,
            session,
            f"staff read of {element} for {purpose} refused: {reason}",
            element=element,
            purpose=purpose,
            reason=reason,
        )
    if reader is None and declaration is not None and needs_decryption(metadata, element):
        raise ConflictError(
            "this element is stored encrypted; read it with a reader that decrypts",
            element=element,
        )
    access = gate.for_subject(session, subject_id, actor=staff.actor)
    use_without_consent(access, element, purpose, exemption, details=details)
    values = (reader or read_element)(session, metadata, element, subject_id)
    return StaffRead(subject_id, element, purpose, values)
