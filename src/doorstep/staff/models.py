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

from doorstep.core.models import Base, enum_type
from doorstep.privacy.retention.binding import DELETE, Binding, retention_info
from doorstep.vocabulary import LegalBasis, not_personal, personal

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
        enum_type(StaffRole, "staff_role"),
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


class StaffTokenKind(StrEnum):
    """A one-time sign-in link, or the session it was exchanged for."""

    LINK = "link"
    SESSION = "session"


def _token(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        subject="employee",
        purposes=["staff.administration", "security.audit"],
        legal_basis=LegalBasis.CONTRACT,
        retention="sign_in_session",
        clauses=("CPE-IV.1.a", "CPE-IV.3.b"),
        description=description,
    )


class StaffToken(Base):
    """A staff sign-in link or console session, stored as a SHA-256 digest only.

    An admin (or the operator's command line) issues a one-time link that lasts
    minutes; opening it gives a session that lasts hours.  ``ended_at`` marks a
    used link or a session that was signed out.  Rows are deleted by the
    retention sweep (rule ``sign_in_session``) and with the staff member.
    """

    __tablename__ = "staff_tokens"
    __table_args__ = (
        {"info": retention_info(Binding("sign_in_session", DELETE, trigger="created_at"))},
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal("random id of the token", export=True),
    )
    staff_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("staff_members.id", ondelete="CASCADE"),
        index=True,
        info=_token("user.unique_id.pseudonymous", "The staff member the token signs in."),
    )
    kind: Mapped[StaffTokenKind] = mapped_column(
        enum_type(StaffTokenKind, "staff_token_kind"),
        info=not_personal("link or session: one of two fixed kinds", export=True),
    )
    token_hash: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        unique=True,
        info=_token("user.authorization.credentials", "SHA-256 of the token."),
    )
    created_at: Mapped[datetime] = mapped_column(
        info=_token("user.account", "When the token was issued.")
    )
    expires_at: Mapped[datetime] = mapped_column(
        info=_token("user.account", "When it stops working.")
    )
    ended_at: Mapped[datetime | None] = mapped_column(
        info=_token("user.account", "When a link was used or a session signed out.")
    )
