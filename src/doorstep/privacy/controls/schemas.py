"""What the controls register's API takes and answers (pydantic), and the views it builds.

The console's views carry the register as of a day (:mod:`.status`); the public
one carries published assessments only.  Bodies refuse unknown fields; the
services check the rest and name the field and rule of any refusal.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from doorstep.privacy.controls.models import ControlKind, RiskLevel, SecurityAssessment
from doorstep.privacy.controls.status import ClaimStatus, ControlStatus


class ControlOut(BaseModel):
    """A control as of today: its newest evidence, due date and state."""

    id: uuid.UUID
    kind: ControlKind
    name: str
    owner_role: str
    scope: str | None
    interval_months: int | None = Field(description="None for a certificate: it expires.")
    last_on: date | None = Field(description="Date of the newest test, review, audit or issue.")
    valid_until: date | None = Field(description="A certificate's expiry, an audit's next due.")
    issued_by: str | None
    evidence: str | None = Field(description="Document id or URL of the newest evidence.")
    version: int | None = Field(description="Newest published version of an assessment.")
    due: date | None
    state: str = Field(description="current, overdue, expired or no_evidence.")
    lapsed: bool


class ClaimLapseOut(BaseModel):
    """Why a claim lost its evidence."""

    kind: ControlKind
    reason: str = Field(description="no_control, overdue, expired or no_evidence.")
    control_id: uuid.UUID | None


class NoticeClaimOut(BaseModel):
    """A security claim of the privacy notice and whether its evidence holds."""

    key: str
    text: str
    clauses: list[str]
    evidence: list[ControlKind]
    supported: bool
    flag: str | None = Field(description="<claim>_claim_unsupported when not supported.")
    lapses: list[ClaimLapseOut]


class ControlRegisterOut(BaseModel):
    """The register as of a day."""

    as_of: date
    controls: list[ControlOut]
    claims: list[NoticeClaimOut]
    flags: list[str]


class ControlEvidenceOut(BaseModel):
    """One piece of evidence."""

    id: uuid.UUID
    performed_on: date
    valid_until: date | None
    issued_by: str | None
    evidence: str
    recorded_at: datetime


class SecurityAssessmentOut(BaseModel):
    """One version of a security impact assessment."""

    control_id: uuid.UUID
    version: int
    assessed_on: date
    risk_level: RiskLevel
    summary: str
    evidence: str
    state: str = Field(description="draft or published.")
    published_at: datetime | None


class ControlDetailOut(BaseModel):
    """One control with its evidence and its assessment versions (newest first)."""

    control: ControlOut
    evidence: list[ControlEvidenceOut]
    assessments: list[SecurityAssessmentOut]


class PublishedAssessmentOut(BaseModel):
    """A published security impact assessment, as anyone may read it."""

    name: str
    version: int
    assessed_on: date
    risk_level: RiskLevel
    summary: str
    evidence: str = Field(description="Where the full report is (a document id or URL).")
    published_at: datetime


class ControlIn(BaseModel):
    """A control to register."""

    model_config = ConfigDict(extra="forbid")
    kind: ControlKind
    name: str = Field(max_length=200)
    owner_role: str = Field(max_length=64, description="A role name, e.g. ciso.")
    scope: str | None = Field(default=None, max_length=500, description="Audits, certificates.")
    interval_months: int | None = Field(default=None, ge=1, le=120)


class ControlEvidenceIn(BaseModel):
    """A test, review, audit or certificate of a control."""

    model_config = ConfigDict(extra="forbid")
    performed_on: date
    evidence: str = Field(max_length=500, description="A document id or an http(s) URL.")
    valid_until: date | None = None
    issued_by: str | None = Field(default=None, max_length=200)


class SecurityAssessmentIn(BaseModel):
    """A new version of a security impact assessment (a draft)."""

    model_config = ConfigDict(extra="forbid")
    assessed_on: date
    risk_level: RiskLevel
    summary: str = Field(max_length=2000)
    evidence: str = Field(max_length=500)


class AssessmentSendIn(BaseModel):
    """Who asked for the report, and which version (the newest published without one)."""

    model_config = ConfigDict(extra="forbid")
    to: str = Field(max_length=320, description="The requester's e-mail address.")
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class AssessmentSentOut(BaseModel):
    """The outbox message that carries the report."""

    outbox_id: uuid.UUID


def control_out(item: ControlStatus) -> ControlOut:
    """The API's view of a control's status."""
    return ControlOut(
        id=item.id,
        kind=item.kind,
        name=item.name,
        owner_role=item.owner_role,
        scope=item.scope,
        interval_months=item.interval_months,
        last_on=item.last_on,
        valid_until=item.valid_until,
        issued_by=item.issued_by,
        evidence=item.evidence,
        version=item.version,
        due=item.due,
        state=item.state.value,
        lapsed=item.lapsed,
    )


def claim_out(item: ClaimStatus) -> NoticeClaimOut:
    """The API's view of a claim's status."""
    return NoticeClaimOut(
        key=item.claim.key,
        text=item.claim.text,
        clauses=list(item.claim.clauses),
        evidence=list(item.claim.kinds),
        supported=item.supported,
        flag=None if item.supported else item.code,
        lapses=[
            ClaimLapseOut(kind=lapse.kind, reason=lapse.reason, control_id=lapse.control_id)
            for lapse in item.lapses
        ],
    )


def assessment_out(row: SecurityAssessment) -> SecurityAssessmentOut:
    """The API's view of an assessment version."""
    return SecurityAssessmentOut(
        control_id=row.control_id,
        version=row.version,
        assessed_on=row.assessed_on,
        risk_level=row.risk_level,
        summary=row.summary,
        evidence=row.evidence,
        state=row.state.value,
        published_at=row.published_at,
    )
