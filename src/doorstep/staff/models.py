"""Operator staff: who may act in the console, in which least-privilege role.

A staff member is a data subject of kind ``staff`` (an employee) with one role.
Deactivating keeps the row (audit records name the staff id) and ends every
permission at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.privacy.datamap import LegalBasis, personal

_CLAUSES = ("CPE-IV.1.a",)


class StaffRole(StrEnum):
    """The operator roles; :mod:`doorstep.staff.permissions` says what each may do."""

    SUPPORT = "support"
    PRIVACY_OFFICER = "privacy_officer"
    ADMIN = "admin"


def _staff(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        subject="employee",
        purposes=["staff.administration", "security.audit"],
        legal_basis=LegalBasis.CONTRACT,
        retention="until_erasure",
        clauses=_CLAUSES,
        description=description,
    )


class StaffMember(Base):
    """A member of the operator's staff."""

    __tablename__ = "staff_members"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=_staff("user.unique_id.pseudonymous", "Staff id; audit records name it as actor."),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        unique=True,
        info=_staff("user.unique_id.pseudonymous", "The staff member as a data subject."),
    )
    role: Mapped[StaffRole] = mapped_column(
        sa.Enum(
            StaffRole, name="staff_role", values_callable=lambda members: [m.value for m in members]
        ),
        info=_staff("user.job_title", "support, privacy_officer or admin."),
    )
    active: Mapped[bool] = mapped_column(
        sa.Boolean,
        server_default=sa.true(),
        info=_staff("user.account", "False once deactivated; no permission is left then."),
    )
    created_at: Mapped[datetime] = mapped_column(
        info=_staff("user.account", "When the staff member was added (injected clock)."),
    )
    deactivated_at: Mapped[datetime | None] = mapped_column(
        info=_staff("user.account", "When the staff member was deactivated."),
    )

    __table_args__ = (
        sa.CheckConstraint(
            "(active AND deactivated_at IS NULL) OR (NOT active AND deactivated_at IS NOT NULL)",
            name="deactivation_recorded",
        ),
    )
