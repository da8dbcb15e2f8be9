"""Change the controls register: add controls, record evidence, add and publish assessments.

Every function takes the caller's session (the caller commits), checks its
input first and raises :class:`InvalidInputError` naming the field and the rule
before anything is written, so bad input changes nothing; every change is
audited (``controls.*``, with the control's id and kind, never free text).
Evidence and published assessments are never changed or deleted: a new test
is a new piece of evidence, a new assessment a new version.
"""

from __future__ import annotations

import re
import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.controls.models import (
    AssessmentState,
    Control,
    ControlEvidence,
    ControlKind,
    RiskLevel,
    SecurityAssessment,
)

#: A role name: a lowercase identifier (``ciso``, ``it_operations``), never a person's name.
_ROLE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
#: A document id (``DOC-2026-17``, ``bcp/test-report#3``) or an http(s) URL.
_DOCUMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,127}$")
_URL = re.compile(r"^https?://[^\s<>\"']{1,490}$")
MAX_NAME = 200
MAX_SCOPE = 500
#: The longest summary: it goes into an e-mail parameter (the outbox's limit).
MAX_SUMMARY = 2000
#: The largest version number (PostgreSQL's integer).
MAX_VERSION = 2**31 - 1
#: Kinds whose evidence is recorded with :func:`record_evidence` (assessments are versions).
EVIDENCE_KINDS = tuple(k for k in ControlKind if k is not ControlKind.SECURITY_IMPACT_ASSESSMENT)
#: Kinds that need a scope, and evidence that needs an issuer (auditor, certification body).
SCOPED = (ControlKind.THIRD_PARTY_AUDIT, ControlKind.CERTIFICATE)


def _text(value: str | None, field: str, limit: int, *, required: bool) -> str | None:
    cleaned = (value or "").strip()
    if not cleaned:
        if required:
            raise InvalidInputError.of(field, "required", f"{field} is required")
        return None
    if len(cleaned) > limit or any(ord(char) < 32 for char in cleaned):
        raise InvalidInputError.of(
            field, "text", f"{field} must be one line of at most {limit} characters"
        )
    return cleaned


def check_reference(value: str | None, field: str = "evidence") -> str:
    """A document id or an http(s) URL, stripped; else a refusal."""
    cleaned = (value or "").strip()
    if not cleaned:
        raise InvalidInputError.of(field, "required", "name the evidence: a document id or a URL")
    if not (_DOCUMENT.match(cleaned) or _URL.match(cleaned)):
        raise InvalidInputError.of(
            field, "evidence_reference", "the evidence must be a document id or an http(s) URL"
        )
    return cleaned


def _kind(value: ControlKind | str) -> ControlKind:
    try:
        return ControlKind(value)
    except ValueError:
        raise InvalidInputError.of("kind", "control_kind", "unknown control kind") from None


def _not_future(day: date, field: str, today: date) -> date:
    if day > today:
        raise InvalidInputError.of(field, "not_in_future", f"{field} cannot be in the future")
    return day


def get_control(session: Session, control_id: uuid.UUID, *, lock: bool = False) -> Control:
    """The control, or :class:`NotFoundError`."""
    control = session.get(Control, control_id, with_for_update=lock or None)
    if control is None:
        raise NotFoundError("no such control")
    return control


def add_control(
    session: Session,
    *,
    kind: ControlKind | str,
    name: str,
    owner_role: str,
    scope: str | None = None,
    interval_months: int | None = None,
    clock: Clock,
    actor: str,
) -> Control:
    """Register a control; audits ``controls.added``.

    An audit and a certificate need a scope; a certificate has no interval (it
    lapses at its expiry).  Another control of the same kind and name is a
    :class:`ConflictError` (reason ``duplicate``).
    """
    chosen = _kind(kind)
    title = _text(name, "name", MAX_NAME, required=True)
    role = (owner_role or "").strip()
    if not _ROLE.match(role):
        raise InvalidInputError.of(
            "owner_role", "role_name", "the owner is a role name of [a-z0-9_.-], e.g. ciso"
        )
    covered = _text(scope, "scope", MAX_SCOPE, required=chosen in SCOPED)
    if interval_months is not None:
        if chosen is ControlKind.CERTIFICATE:
            raise InvalidInputError.of(
                "interval_months", "no_interval", "a certificate lapses at its expiry"
            )
        if not 1 <= interval_months <= 120:
            raise InvalidInputError.of(
                "interval_months", "interval", "the interval is 1 to 120 months"
            )
    taken = session.scalar(
        sa.select(Control.id).where(Control.kind == chosen, Control.name == title)
    )
    if taken is not None:
        raise ConflictError("a control of this kind has this name already", reason="duplicate")
    control = Control(
        id=uuid.uuid4(),
        kind=chosen,
        name=title,
        owner_role=role,
        scope=covered,
        interval_months=interval_months,
        created_at=clock.now(),
    )
    session.add(control)
    session.flush()
    record(
        session,
        action="controls.added",
        actor=actor,
        details={"control": str(control.id), "kind": chosen.value},
    )
    return control


def record_evidence(
    session: Session,
    control_id: uuid.UUID,
    *,
    performed_on: date,
    evidence: str,
    valid_until: date | None = None,
    issued_by: str | None = None,
    clock: Clock,
    actor: str,
) -> ControlEvidence:
    """Record a test, review, audit or certificate; audits ``controls.evidence_recorded``.

    ``performed_on`` (the test, review or audit; a certificate's issue date) is
    not in the future.  A certificate needs ``valid_until`` (its expiry) and
    ``issued_by``; an audit needs ``issued_by`` (the auditor) and may set its
    next due date as ``valid_until``; either is after ``performed_on``.
    Assessments are versions instead (:func:`add_assessment`).
    """
    control = get_control(session, control_id, lock=True)
    if control.kind not in EVIDENCE_KINDS:
        raise InvalidInputError.of(
            "control", "evidence_kind", "an assessment is recorded as a new version"
        )
    _not_future(performed_on, "performed_on", clock.now().date())
    reference = check_reference(evidence)
    issuer = _text(issued_by, "issued_by", MAX_NAME, required=control.kind in SCOPED)
    if control.kind is ControlKind.CERTIFICATE and valid_until is None:
        raise InvalidInputError.of(
            "valid_until", "required", "a certificate needs the date it is valid until"
        )
    if valid_until is not None:
        if control.kind not in SCOPED:
            raise InvalidInputError.of(
                "valid_until", "no_expiry", "only audits and certificates have one"
            )
        if valid_until <= performed_on:
            raise InvalidInputError.of(
                "valid_until", "after_performed", "it must be after performed_on"
            )
    row = ControlEvidence(
        id=uuid.uuid4(),
        control_id=control.id,
        performed_on=performed_on,
        valid_until=valid_until,
        issued_by=issuer,
        evidence=reference,
        recorded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        action="controls.evidence_recorded",
        actor=actor,
        details={
            "control": str(control.id),
            "kind": control.kind.value,
            "evidence": str(row.id),
            "performed_on": performed_on.isoformat(),
        },
    )
    return row


def _assessment_control(session: Session, control_id: uuid.UUID) -> Control:
    control = get_control(session, control_id, lock=True)
    if control.kind is not ControlKind.SECURITY_IMPACT_ASSESSMENT:
        raise InvalidInputError.of(
            "control", "assessment_kind", "the control is no impact assessment"
        )
    return control


def add_assessment(
    session: Session,
    control_id: uuid.UUID,
    *,
    assessed_on: date,
    risk_level: RiskLevel | str,
    summary: str,
    evidence: str,
    clock: Clock,
    actor: str,
) -> SecurityAssessment:
    """Add the next version of an impact assessment, as a draft; audits ``controls.assessed``."""
    control = _assessment_control(session, control_id)
    _not_future(assessed_on, "assessed_on", clock.now().date())
    try:
        risk = RiskLevel(risk_level)
    except ValueError:
        raise InvalidInputError.of(
            "risk_level", "risk_level", "the risk is low, medium or high"
        ) from None
    text = (summary or "").strip()
    if not text:
        raise InvalidInputError.of("summary", "required", "the assessment needs its public summary")
    if len(text) > MAX_SUMMARY or any(ord(c) < 32 and c not in "\n\r\t" for c in text):
        raise InvalidInputError.of(
            "summary", "text", f"the summary is text of at most {MAX_SUMMARY} characters"
        )
    reference = check_reference(evidence)
    latest = session.scalar(
        sa.select(sa.func.max(SecurityAssessment.version)).where(
            SecurityAssessment.control_id == control.id
        )
    )
    row = SecurityAssessment(
        id=uuid.uuid4(),
        control_id=control.id,
        version=(latest or 0) + 1,
        assessed_on=assessed_on,
        risk_level=risk,
        summary=text,
        evidence=reference,
        state=AssessmentState.DRAFT,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        action="controls.assessed",
        actor=actor,
        details={"control": str(control.id), "version": row.version, "risk": risk.value},
    )
    return row


def get_assessment(session: Session, control_id: uuid.UUID, version: int) -> SecurityAssessment:
    """One version of an assessment, or :class:`NotFoundError`."""
    if not 1 <= version <= MAX_VERSION:
        raise NotFoundError("no such assessment version")
    row = session.scalar(
        sa.select(SecurityAssessment).where(
            SecurityAssessment.control_id == control_id, SecurityAssessment.version == version
        )
    )
    if row is None:
        raise NotFoundError("no such assessment version")
    return row


def publish_assessment(
    session: Session, control_id: uuid.UUID, version: int, *, clock: Clock, actor: str
) -> SecurityAssessment:
    """Publish a draft version (then listed publicly); audits ``controls.assessment_published``.

    A version already published is a :class:`ConflictError` (``already_published``).
    """
    _assessment_control(session, control_id)
    row = get_assessment(session, control_id, version)
    if row.state is AssessmentState.PUBLISHED:
        raise ConflictError("this version is published already", reason="already_published")
    row.state = AssessmentState.PUBLISHED
    row.published_at = clock.now()
    session.flush()
    record(
        session,
        action="controls.assessment_published",
        actor=actor,
        details={"control": str(control_id), "version": version},
    )
    return row


def assessments(session: Session, control_id: uuid.UUID) -> list[SecurityAssessment]:
    """Every version of one assessment, newest first."""
    return list(
        session.scalars(
            sa.select(SecurityAssessment)
            .where(SecurityAssessment.control_id == control_id)
            .order_by(SecurityAssessment.version.desc())
        )
    )


def evidence_of(session: Session, control_id: uuid.UUID) -> list[ControlEvidence]:
    """Every piece of evidence of one control, newest first."""
    return list(
        session.scalars(
            sa.select(ControlEvidence)
            .where(ControlEvidence.control_id == control_id)
            .order_by(ControlEvidence.performed_on.desc(), ControlEvidence.recorded_at.desc())
        )
    )


def published_assessments(session: Session) -> list[tuple[Control, SecurityAssessment]]:
    """Every published version of every assessment, newest first (the public listing)."""
    rows = session.execute(
        sa.select(Control, SecurityAssessment)
        .join(SecurityAssessment, SecurityAssessment.control_id == Control.id)
        .where(SecurityAssessment.state == AssessmentState.PUBLISHED)
        .order_by(
            SecurityAssessment.published_at.desc(),
            Control.name,
            SecurityAssessment.version.desc(),
        )
    )
    return [(control, assessment) for control, assessment in rows]
