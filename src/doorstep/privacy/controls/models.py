"""The controls register's tables (CPE-IV.2.b-d, CPE-IV.5).

* ``controls`` — one row per control: its kind (:class:`ControlKind`), name,
  owner role, scope, and the interval that overrides the pack's; ``alerted_key``
  remembers the lapse last alerted, so the daily job alerts once per lapse;
* ``control_evidence`` — append-only evidence: each test, review, audit or
  certificate, with its date, its expiry or next due date, who performed or
  issued it and a reference to the document (an id or a URL);
* ``security_assessments`` — the versions of a security impact assessment, each
  a draft until it is published (then listed publicly, never changed).

Nothing here is personal data: controls describe the operator's systems and
organisation (roles, firms, documents), never a person; who recorded what is
in the audit trail, by staff id.  So no retention rule applies: the register is
kept as evidence for as long as the operator runs Doorstep.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base, enum_type
from doorstep.privacy.datamap.pack_controls import ControlKind
from doorstep.vocabulary import not_personal

__all__ = [
    "AssessmentState",
    "Control",
    "ControlEvidence",
    "ControlKind",
    "RiskLevel",
    "SecurityAssessment",
]


class AssessmentState(StrEnum):
    """Where a version of a security impact assessment stands."""

    DRAFT = "draft"
    PUBLISHED = "published"


class RiskLevel(StrEnum):
    """The risk an assessment finds for personal information."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Control(Base):
    """A control of the register."""

    __tablename__ = "controls"
    __table_args__ = (
        sa.UniqueConstraint("kind", "name", name="uq_controls_kind_name"),
        sa.CheckConstraint(
            "interval_months IS NULL OR interval_months BETWEEN 1 AND 120",
            name="interval_in_range",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid.uuid4, info=not_personal("random id of the control")
    )
    kind: Mapped[ControlKind] = mapped_column(
        enum_type(ControlKind, "control_kind"),
        info=not_personal("the kind of control (continuity_plan, certificate …)"),
    )
    name: Mapped[str] = mapped_column(
        sa.Text,
        info=not_personal("the control's name, e.g. 'ISO 27001' or 'Business continuity plan'"),
    )
    owner_role: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the role answering for it (a role name, never a person)")
    )
    scope: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("what an audit or certificate covers (systems, sites)")
    )
    interval_months: Mapped[int | None] = mapped_column(
        sa.SmallInteger, info=not_personal("months between two tests; None: the pack's interval")
    )
    created_at: Mapped[datetime] = mapped_column(info=not_personal("when it was registered"))
    alerted_key: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("the lapse last alerted: state and due date")
    )


class ControlEvidence(Base):
    """One piece of evidence of a control: a test, review, audit or certificate."""

    __tablename__ = "control_evidence"
    __table_args__ = (
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_until > performed_on", name="valid_after_performed"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid.uuid4, info=not_personal("random id of the evidence")
    )
    control_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("controls.id"), index=True, info=not_personal("the control it evidences")
    )
    performed_on: Mapped[date] = mapped_column(
        sa.Date, info=not_personal("when the test, review or audit took place, or the issue date")
    )
    valid_until: Mapped[date | None] = mapped_column(
        sa.Date, info=not_personal("a certificate's expiry, or an audit's next due date")
    )
    issued_by: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("the audit firm or certification body (an organisation)")
    )
    evidence: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("a document id or URL of the report or certificate")
    )
    recorded_at: Mapped[datetime] = mapped_column(info=not_personal("when it was recorded"))


class SecurityAssessment(Base):
    """One version of a security impact assessment (CPE-IV.5)."""

    __tablename__ = "security_assessments"
    __table_args__ = (
        sa.UniqueConstraint("control_id", "version", name="uq_security_assessments_version"),
        sa.CheckConstraint(
            "(state = 'published') = (published_at IS NOT NULL)", name="published_dated"
        ),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid.uuid4, info=not_personal("random id of the version")
    )
    control_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("controls.id"), index=True, info=not_personal("the assessment it versions")
    )
    version: Mapped[int] = mapped_column(info=not_personal("1, 2, 3 … per assessment"))
    assessed_on: Mapped[date] = mapped_column(
        sa.Date, info=not_personal("the date the assessment was made")
    )
    risk_level: Mapped[RiskLevel] = mapped_column(
        enum_type(RiskLevel, "assessment_risk_level"), info=not_personal("low, medium or high")
    )
    summary: Mapped[str] = mapped_column(
        sa.Text,
        info=not_personal("the public summary of the report: systems and risks, not people"),
    )
    evidence: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("a document id or URL of the full report")
    )
    state: Mapped[AssessmentState] = mapped_column(
        enum_type(AssessmentState, "assessment_state"), info=not_personal("draft or published")
    )
    created_at: Mapped[datetime] = mapped_column(info=not_personal("when the version was added"))
    published_at: Mapped[datetime | None] = mapped_column(
        info=not_personal("when it was published")
    )
