"""HTTP API of the controls register: the console's, and the public list of assessments.

* ``GET /api/v1/console/controls`` (``view_records``) — the register as of
  today: every control with its due date and state, lapsed ones first, each
  claim of the notice with what leaves it unsupported, and the flags;
* ``POST /api/v1/console/controls`` (``manage_controls``) — register a control;
* ``GET /api/v1/console/controls/{id}`` (``view_records``) — one control, its
  evidence and its assessment versions;
* ``POST …/{id}/evidence`` — record a test, review, audit or certificate;
* ``POST …/{id}/assessments`` — add an assessment version (a draft);
  ``POST …/{id}/assessments/{version}/publish`` — publish it;
  ``POST …/{id}/assessments/send`` — e-mail the published report to someone
  who asked for it (CPE-IV.5);
* ``GET /api/v1/security-assessments`` (public) — every published version.

Bad input is a 422 problem naming the field and rule, and nothing changes;
every view and change is audited with the staff member as actor.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, status
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.problems import problem_responses
from doorstep.privacy.controls import reports
from doorstep.privacy.controls import services as svc
from doorstep.privacy.controls.schemas import (
    AssessmentSendIn,
    AssessmentSentOut,
    ControlDetailOut,
    ControlEvidenceIn,
    ControlEvidenceOut,
    ControlIn,
    ControlOut,
    ControlRegisterOut,
    PublishedAssessmentOut,
    SecurityAssessmentIn,
    SecurityAssessmentOut,
    assessment_out,
    claim_out,
    control_out,
)
from doorstep.privacy.controls.status import ControlStatus, claim_status, flags, register_status
from doorstep.services import ServicesDep, SessionDep
from doorstep.staff.auth import CurrentStaff
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import Staff, require_action

router = APIRouter(tags=["controls"])
CONSOLE = "/api/v1/console/controls"
#: A version number in a path: PostgreSQL's integer.
Version = Annotated[int, Path(ge=1, le=2**31 - 1, description="The version number.")]


def _acting(session: Session, staff: Staff, action: StaffAction) -> str:
    return require_action(session, staff.id, action).actor


def _status(session: Session, services: ServicesDep, control_id: uuid.UUID) -> ControlStatus:
    today = services.runtime.clock.now().date()
    found = [
        item
        for item in register_status(session, services.pack.controls, today)
        if item.id == control_id
    ]
    if not found:
        svc.get_control(session, control_id)  # raises NotFoundError
    return found[0]


@router.get(CONSOLE, summary="The controls register", responses=problem_responses(403))
def register(staff: CurrentStaff, services: ServicesDep, session: SessionDep) -> ControlRegisterOut:
    """Every control as of today (lapsed first), each claim and the flags; the view is audited."""
    actor = _acting(session, staff, StaffAction.VIEW_RECORDS)
    today = services.runtime.clock.now().date()
    policy = services.pack.controls
    statuses = register_status(session, policy, today)
    claims = claim_status(statuses, policy)
    record(session, action="controls.viewed", actor=actor, details={"count": len(statuses)})
    return ControlRegisterOut(
        as_of=today,
        controls=[control_out(item) for item in statuses],
        claims=[claim_out(item) for item in claims],
        flags=flags(claims),
    )


@router.post(
    CONSOLE,
    summary="Register a control",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 409, 422),
)
def add_control(
    body: ControlIn, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> ControlOut:
    """Register a control (an audit or a certificate needs its scope)."""
    actor = _acting(session, staff, StaffAction.MANAGE_CONTROLS)
    control = svc.add_control(
        session,
        kind=body.kind,
        name=body.name,
        owner_role=body.owner_role,
        scope=body.scope,
        interval_months=body.interval_months,
        clock=services.runtime.clock,
        actor=actor,
    )
    return control_out(_status(session, services, control.id))


@router.get(CONSOLE + "/{control_id}", summary="One control", responses=problem_responses(403, 404))
def show_control(
    control_id: uuid.UUID, staff: CurrentStaff, services: ServicesDep, session: SessionDep
) -> ControlDetailOut:
    """One control as of today, its evidence and its assessment versions; audited."""
    actor = _acting(session, staff, StaffAction.VIEW_RECORDS)
    item = _status(session, services, control_id)
    record(session, action="controls.viewed", actor=actor, details={"control": str(control_id)})
    return ControlDetailOut(
        control=control_out(item),
        evidence=[
            ControlEvidenceOut(
                id=row.id,
                performed_on=row.performed_on,
                valid_until=row.valid_until,
                issued_by=row.issued_by,
                evidence=row.evidence,
                recorded_at=row.recorded_at,
            )
            for row in svc.evidence_of(session, control_id)
        ],
        assessments=[assessment_out(row) for row in svc.assessments(session, control_id)],
    )


@router.post(
    CONSOLE + "/{control_id}/evidence",
    summary="Record evidence of a control",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 404, 422),
)
def record_evidence(
    control_id: uuid.UUID,
    body: ControlEvidenceIn,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> ControlOut:
    """Record a test, review, audit or certificate; the control's new status."""
    actor = _acting(session, staff, StaffAction.MANAGE_CONTROLS)
    svc.record_evidence(
        session,
        control_id,
        performed_on=body.performed_on,
        evidence=body.evidence,
        valid_until=body.valid_until,
        issued_by=body.issued_by,
        clock=services.runtime.clock,
        actor=actor,
    )
    return control_out(_status(session, services, control_id))


@router.post(
    CONSOLE + "/{control_id}/assessments",
    summary="Add an assessment version (a draft)",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 404, 422),
)
def add_assessment(
    control_id: uuid.UUID,
    body: SecurityAssessmentIn,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> SecurityAssessmentOut:
    """Add the next version of a security impact assessment, as a draft."""
    actor = _acting(session, staff, StaffAction.MANAGE_CONTROLS)
    row = svc.add_assessment(
        session,
        control_id,
        assessed_on=body.assessed_on,
        risk_level=body.risk_level,
        summary=body.summary,
        evidence=body.evidence,
        clock=services.runtime.clock,
        actor=actor,
    )
    return assessment_out(row)


@router.post(
    CONSOLE + "/{control_id}/assessments/{version}/publish",
    summary="Publish an assessment version",
    responses=problem_responses(403, 404, 409, 422),
)
def publish_assessment(
    control_id: uuid.UUID,
    version: Version,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> SecurityAssessmentOut:
    """Publish a draft: it is then listed publicly and never changes."""
    actor = _acting(session, staff, StaffAction.MANAGE_CONTROLS)
    row = svc.publish_assessment(
        session, control_id, version, clock=services.runtime.clock, actor=actor
    )
    return assessment_out(row)


@router.post(
    CONSOLE + "/{control_id}/assessments/send",
    summary="E-mail a published assessment report to whoever asked for it",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(403, 404, 409, 422),
)
def send_assessment(
    control_id: uuid.UUID,
    body: AssessmentSendIn,
    staff: CurrentStaff,
    services: ServicesDep,
    session: SessionDep,
) -> AssessmentSentOut:
    """Queue the published report (the newest, or ``version``) to the requester (CPE-IV.5)."""
    actor = _acting(session, staff, StaffAction.MANAGE_CONTROLS)
    outbox_id = reports.send_assessment(
        session,
        control_id,
        to=body.to,
        version=body.version,
        clock=services.runtime.clock,
        actor=actor,
    )
    return AssessmentSentOut(outbox_id=outbox_id)


@router.get("/api/v1/security-assessments", summary="Published security impact assessments")
def published(session: SessionDep) -> list[PublishedAssessmentOut]:
    """Every published version of every security impact assessment, newest first (CPE-IV.5)."""
    return [
        PublishedAssessmentOut(
            name=control.name,
            version=row.version,
            assessed_on=row.assessed_on,
            risk_level=row.risk_level,
            summary=row.summary,
            evidence=row.evidence,
            published_at=row.published_at or row.created_at,
        )
        for control, row in svc.published_assessments(session)
    ]
