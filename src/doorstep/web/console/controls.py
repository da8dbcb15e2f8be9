"""The operator console's controls register: overdue alerts, the controls, their evidence.

* ``GET /console/controls`` (``view_records``) — the alerts first: each claim of
  the privacy notice whose evidence has lapsed (its flag, and the controls or
  kinds that let it down) and each lapsed control; then every control with its
  due date and state; for ``manage_controls``, the form that registers one.
* ``POST /console/controls`` (``manage_controls``) — register a control.
* ``GET /console/controls/{id}`` (``view_records``) — one control: its facts,
  its evidence or its assessment versions, and the forms that record evidence,
  add a version or publish a draft.
* ``POST /console/controls/{id}/evidence|assessments|assessments/{version}/publish``.

Every change runs in a transaction of its own through the same services as the
API (:mod:`doorstep.privacy.controls.services`); success redirects with a
``done`` code; bad input re-renders the page with a message per field and
changes nothing.  Views are audited as the API audits them.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from doorstep.audit.services import record
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.controls import services as svc
from doorstep.privacy.controls.models import (
    ControlEvidence,
    ControlKind,
    RiskLevel,
    SecurityAssessment,
)
from doorstep.privacy.controls.status import (
    ClaimStatus,
    ControlState,
    ControlStatus,
    claim_status,
    register_status,
)
from doorstep.staff.permissions import StaffAction, may
from doorstep.staff.services import Staff
from doorstep.web.console.staff_work import Form, act, field_errors, must, text
from doorstep.web.i18n import _
from doorstep.web.numbers import whole_number
from doorstep.web.session import PageStaff
from doorstep.web.templating import DONE, render
from doorstep.web.work import Outcome, services_of

router = APIRouter(include_in_schema=False)

DONE.update(
    {
        "control_added": _("The control is registered. Record its evidence below."),
        "evidence_recorded": _("The evidence is recorded."),
        "assessment_added": _("The new version is saved as a draft."),
        "assessment_published": _("The version is published on the public security page."),
    }
)
KINDS: dict[str, str] = {
    ControlKind.CONTINUITY_PLAN: _("Business-continuity plan test"),
    ControlKind.SECURITY_POLICY_REVIEW: _("Security-policy review"),
    ControlKind.THIRD_PARTY_AUDIT: _("Third-party security audit"),
    ControlKind.CERTIFICATE: _("Certificate"),
    ControlKind.SECURITY_IMPACT_ASSESSMENT: _("Security impact assessment"),
}
STATES: dict[str, str] = {
    ControlState.CURRENT: _("Current"),
    ControlState.OVERDUE: _("Overdue"),
    ControlState.EXPIRED: _("Expired"),
    ControlState.NO_EVIDENCE: _("No evidence"),
    "no_control": _("No control registered"),
}
RISKS: dict[str, str] = {
    RiskLevel.LOW: _("Low"),
    RiskLevel.MEDIUM: _("Medium"),
    RiskLevel.HIGH: _("High"),
}
#: What a form field says for a rule the services name (the page's own words).
WORDING: dict[tuple[str, str], str] = {
    ("kind", "control_kind"): _("Choose a kind of control."),
    ("name", "required"): _("Enter the control's name."),
    ("owner_role", "role_name"): _(
        "Enter a role name of lowercase letters, digits and _ . - (like ciso), not a person."
    ),
    ("scope", "required"): _("An audit or a certificate needs its scope."),
    ("interval_months", "interval"): _("Enter a number of months from 1 to 120."),
    ("interval_months", "no_interval"): _("A certificate has no interval: it expires."),
    ("performed_on", "date"): _("Enter a date like 2026-03-31."),
    ("performed_on", "not_in_future"): _("The date cannot be in the future."),
    ("assessed_on", "date"): _("Enter a date like 2026-03-31."),
    ("assessed_on", "not_in_future"): _("The date cannot be in the future."),
    ("valid_until", "date"): _("Enter a date like 2027-03-31."),
    ("valid_until", "required"): _("A certificate needs the date it is valid until."),
    ("valid_until", "after_performed"): _("It must be after the date above."),
    ("valid_until", "no_expiry"): _("Only audits and certificates have this date."),
    ("issued_by", "required"): _("Enter the auditor or the certification body."),
    ("evidence", "required"): _("Enter the document id or the URL of the evidence."),
    ("evidence", "evidence_reference"): _(
        "Enter a document id (letters, digits and . _ : / # -) or an http(s) URL."
    ),
    ("risk_level", "risk_level"): _("Choose the risk found."),
    ("summary", "required"): _("Enter the public summary of the report."),
}


def _day(form: FormData, name: str, *, required: bool) -> date | None:
    """A date field; a refusal naming the field when it is no date."""
    value = text(form, name)
    if not value:
        if required:
            raise InvalidInputError(f"{name} is required", errors=[{"field": name, "rule": "date"}])
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            f"{name} is no date", errors=[{"field": name, "rule": "date"}]
        ) from None


def _register(
    request: Request, staff: Staff
) -> tuple[list[ControlStatus], list[ClaimStatus], date]:
    services = services_of(request)
    today = services.runtime.clock.now().date()
    policy = services.pack.controls

    def work(session: Session, actor: str) -> tuple[list[ControlStatus], list[ClaimStatus]]:
        statuses = register_status(session, policy, today)
        record(session, action="controls.viewed", actor=actor, details={"count": len(statuses)})
        return statuses, claim_status(statuses, policy)

    statuses, claims = must(act(request, staff, StaffAction.VIEW_RECORDS, work))
    return statuses, claims, today


def _labels() -> dict[str, Any]:
    return {"kinds": KINDS, "states": STATES, "risks": RISKS}


def _list_page(
    request: Request,
    staff: Staff,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    statuses, claims, today = _register(request, staff)
    by_id = {item.id: item for item in statuses}
    return render(
        request,
        "console/controls.html",
        status_code=status_code,
        controls=statuses,
        lapsed=[item for item in statuses if item.lapsed],
        flagged=[claim for claim in claims if not claim.supported],
        claims=claims,
        by_id=by_id,
        today=today,
        manage=may(staff.role, StaffAction.MANAGE_CONTROLS),
        kind_options=list(KINDS.items()),
        errors=errors or {},
        error=error,
        values=values or {},
        **_labels(),
    )


def _message(outcome: Outcome[Any]) -> str:
    error = outcome.error
    if isinstance(error, ConflictError):
        if error.fields.get("reason") == "duplicate":
            return _("A control of this kind already has this name.")
        if error.fields.get("reason") == "already_published":
            return _("This version is published already.")
        return _("This cannot be done now.")
    return _("Please correct what is marked below.")


def _refusal(outcome: Outcome[Any]) -> InvalidInputError | ConflictError:
    """The error of a refused form, or the error page for anything else."""
    error = outcome.error
    if error is None or isinstance(error, NotFoundError):
        must(outcome)
    if not isinstance(error, InvalidInputError | ConflictError):
        raise error  # type: ignore[misc]
    return error


@router.get("/console/controls", response_class=HTMLResponse)
def controls(request: Request, staff: PageStaff) -> HTMLResponse:
    """The alerts, the controls and (for ``manage_controls``) the form to register one."""
    return _list_page(request, staff)


@router.post("/console/controls", response_class=HTMLResponse)
def add(request: Request, staff: PageStaff, form: Form) -> Response:
    """Register a control; on bad input the page again with the fields marked."""
    clock = services_of(request).runtime.clock
    values = {
        name: text(form, name) for name in ("kind", "name", "owner_role", "scope", "interval")
    }

    def work(session: Session, actor: str) -> uuid.UUID:
        interval = None
        if values["interval"]:
            interval = whole_number(values["interval"], minimum=1, maximum=120)
            if interval is None:
                raise InvalidInputError(
                    "interval", errors=[{"field": "interval_months", "rule": "interval"}]
                )
        control = svc.add_control(
            session,
            kind=values["kind"],
            name=values["name"],
            owner_role=values["owner_role"],
            scope=values["scope"] or None,
            interval_months=interval,
            clock=clock,
            actor=actor,
        )
        return control.id

    outcome = act(request, staff, StaffAction.MANAGE_CONTROLS, work)
    if outcome.value is None:
        error = _refusal(outcome)
        return _list_page(
            request,
            staff,
            status_code=error.status,
            errors=field_errors(outcome, WORDING),
            error=_message(outcome),
            values=values,
        )
    return RedirectResponse(f"/console/controls/{outcome.value}?done=control_added", 303)


def _control_page(
    request: Request,
    staff: Staff,
    control_id: uuid.UUID,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    services = services_of(request)
    today = services.runtime.clock.now().date()
    policy = services.pack.controls

    def work(
        session: Session, actor: str
    ) -> tuple[ControlStatus, list[ControlEvidence], list[SecurityAssessment]]:
        svc.get_control(session, control_id)
        (item,) = [x for x in register_status(session, policy, today) if x.id == control_id]
        record(session, action="controls.viewed", actor=actor, details={"control": str(item.id)})
        return item, svc.evidence_of(session, control_id), svc.assessments(session, control_id)

    item, evidence, versions = must(act(request, staff, StaffAction.VIEW_RECORDS, work))
    return render(
        request,
        "console/control.html",
        status_code=status_code,
        control=item,
        evidence=evidence,
        versions=versions,
        assessment=item.kind is ControlKind.SECURITY_IMPACT_ASSESSMENT,
        scoped=item.kind in svc.SCOPED,
        certificate=item.kind is ControlKind.CERTIFICATE,
        today=today,
        manage=may(staff.role, StaffAction.MANAGE_CONTROLS),
        risk_options=list(RISKS.items()),
        errors=errors or {},
        error=error,
        values=values or {},
        **_labels(),
    )


@router.get("/console/controls/{control_id}", response_class=HTMLResponse)
def show(request: Request, control_id: uuid.UUID, staff: PageStaff) -> HTMLResponse:
    """One control, its evidence or versions, and the forms."""
    return _control_page(request, staff, control_id)


def _after(
    request: Request,
    staff: Staff,
    control_id: uuid.UUID,
    *,
    outcome: Outcome[Any],
    done: str,
    values: dict[str, str],
) -> Response:
    if outcome.ok:
        return RedirectResponse(f"/console/controls/{control_id}?done={done}", 303)
    error = _refusal(outcome)
    return _control_page(
        request,
        staff,
        control_id,
        status_code=error.status,
        errors=field_errors(outcome, WORDING),
        error=_message(outcome),
        values=values,
    )


@router.post("/console/controls/{control_id}/evidence", response_class=HTMLResponse)
def add_evidence(request: Request, control_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Record a test, review, audit or certificate."""
    clock = services_of(request).runtime.clock
    values = {
        name: text(form, name) for name in ("performed_on", "valid_until", "issued_by", "evidence")
    }

    def work(session: Session, actor: str) -> bool:
        svc.record_evidence(
            session,
            control_id,
            performed_on=_day(form, "performed_on", required=True) or date.min,
            valid_until=_day(form, "valid_until", required=False),
            issued_by=values["issued_by"] or None,
            evidence=values["evidence"],
            clock=clock,
            actor=actor,
        )
        return True

    outcome = act(request, staff, StaffAction.MANAGE_CONTROLS, work)
    return _after(
        request, staff, control_id, outcome=outcome, done="evidence_recorded", values=values
    )


@router.post("/console/controls/{control_id}/assessments", response_class=HTMLResponse)
def add_assessment(
    request: Request, control_id: uuid.UUID, staff: PageStaff, form: Form
) -> Response:
    """Add the next version of an assessment, as a draft."""
    clock = services_of(request).runtime.clock
    values = {
        name: text(form, name) for name in ("assessed_on", "risk_level", "summary", "evidence")
    }

    def work(session: Session, actor: str) -> bool:
        svc.add_assessment(
            session,
            control_id,
            assessed_on=_day(form, "assessed_on", required=True) or date.min,
            risk_level=values["risk_level"],
            summary=values["summary"],
            evidence=values["evidence"],
            clock=clock,
            actor=actor,
        )
        return True

    outcome = act(request, staff, StaffAction.MANAGE_CONTROLS, work)
    return _after(
        request, staff, control_id, outcome=outcome, done="assessment_added", values=values
    )


@router.post(
    "/console/controls/{control_id}/assessments/{version}/publish", response_class=HTMLResponse
)
def publish(
    request: Request, control_id: uuid.UUID, version: int, staff: PageStaff, form: Form
) -> Response:
    """Publish a draft version."""
    clock = services_of(request).runtime.clock

    def work(session: Session, actor: str) -> bool:
        svc.publish_assessment(session, control_id, version, clock=clock, actor=actor)
        return True

    outcome = act(request, staff, StaffAction.MANAGE_CONTROLS, work)
    return _after(
        request, staff, control_id, outcome=outcome, done="assessment_published", values={}
    )
