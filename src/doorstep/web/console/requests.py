"""The operator console's privacy desk: the request queue, one request, and the decisions.

* ``GET /console/requests`` — the queue (``view_requests``): open requests, or
  those of one status, or only the overdue ones; overdue first, then by
  deadline (:func:`~doorstep.privacy.requests.tracking.desk_queue`).  A GET form
  filters it, so the filtered page can be bookmarked.
* ``GET /console/requests/{id}`` — everything the desk's view holds
  (:func:`doorstep.privacy.requests.console.view`: ids, codes and instants,
  never a value of the subject's data; a correction names its element only)
  and, for a role that may decide, three forms: approve, refuse (a reason code
  and, for the codes that need one, an evidence reference), extend (months and a
  reason code).  While a worker carries an approved export or erasure out the
  forms give way to a note saying so; the request closes when the job is done.
* the connected systems' part of the request (:mod:`doorstep.privacy.requests.systems`):
  each system's state, attempts, reason and evidence; a waiting manual task shows
  what to look for and, for a role that may decide, a form to record the outcome
  and its evidence reference (``POST …/systems/{system}/outcome``); failed systems
  can be re-run (``POST …/systems/rerun``);
* ``POST /console/requests/{id}/approve|refuse|extend`` — ``decide_requests``:
  :func:`~doorstep.privacy.requests.fulfil.approve`,
  :func:`~doorstep.privacy.requests.systems.decisions.refuse` (the connected
  systems' outstanding work is cancelled) and
  :func:`~doorstep.privacy.requests.systems.decisions.extend` (manual tasks' due
  dates move with the deadline), each in a transaction of
  its own; success goes back to the request with ``?done=``, a refusal of the
  input re-renders the request with a message per field (nothing changed).

Every view is audited as the console API audits it (``requests.queue_viewed``,
``request.viewed``, with the staff member as actor); a role without the action
gets the 403 page, and ``require_action`` has recorded the refusal.  The staff
sign-in pages (:mod:`.signin`) are mounted with this router.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.requests import fulfil
from doorstep.privacy.requests.codes import (
    EXTENSION_TEXT,
    NEEDS_EVIDENCE,
    REFUSAL_TEXT,
    STAFF_REFUSALS,
)
from doorstep.privacy.requests.console import DeskRequest, queue_view, view
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.deadlines import rule_for
from doorstep.privacy.requests.models import RequestStatus
from doorstep.privacy.requests.services import OPEN, audit, get
from doorstep.privacy.requests.systems import desk as systems_desk
from doorstep.privacy.requests.systems.decisions import extend, refuse
from doorstep.privacy.requests.systems.desk import TaskView
from doorstep.staff.permissions import StaffAction, may
from doorstep.staff.services import Staff
from doorstep.web.console import signin
from doorstep.web.console.staff_work import Form, act, field_errors, must, text
from doorstep.web.console.wording import CHANNELS, KINDS, STATUSES
from doorstep.web.i18n import _
from doorstep.web.numbers import whole_number
from doorstep.web.session import PageStaff
from doorstep.web.templating import DONE, render
from doorstep.web.work import Outcome, services_of

router = APIRouter(include_in_schema=False)
router.include_router(signin.router)

DONE.update(
    {
        "request_completed": _("The request is carried out and closed; the requester is told."),
        "request_approved": _(
            "The request is approved. A worker prepares the export or the erasure; "
            "the request closes when it is done and the requester is told."
        ),
        "request_refused": _(
            "The request is refused; the requester is told why and where to complain."
        ),
        "request_extended": _(
            "The deadline is extended; the requester is told the new date and why."
        ),
        "system_recorded": _("The system's outcome is recorded."),
        "systems_rerun": _("The failed systems are being tried again."),
    }
)

#: What a form field says for a rule the services name (the page's own words).
WORDING: dict[tuple[str, str], str] = {
    ("code", "refusal_code"): _("Choose the reason for the refusal."),
    ("evidence", "required"): _(
        "This reason needs a reference to its evidence: enter the id of the ticket or file."
    ),
    ("evidence", "evidence_reference"): _(
        "Enter a reference of letters, digits and . _ : - only (up to 128), like TICKET-1234."
    ),
    ("months", "allowed_extension"): _("Choose a number of months this jurisdiction allows."),
    ("months", "months"): _("Choose a number of months."),
    ("reason", "extension_reason"): _("Choose the reason for the extension."),
    ("evidence", "reference"): _(
        "Enter a reference of letters, digits and . _ : - only, like TICKET-1234."
    ),
    ("outcome", "one_of"): _("Choose what you found."),
}
#: What the page says when a decision cannot be made now (the service's reason code).
CONFLICTS: dict[str, str] = {
    "not_verified": _("The requester has not proven their identity yet: nothing can be done."),
    "already_closed": _("The request is already closed."),
    "invalid_transition": _("The request cannot take this decision in its present status."),
    "extension_too_late": _(
        "The first period is over: an extension must be notified before it ends."
    ),
    "devices_bound": _(
        "The subscriber still has devices bound; they must be unbound before deregistration."
    ),
    "none_failed": _("No system of this request has failed."),
    "kind": _("Only a manual system's outcome is recorded here."),
}
CLOSED = frozenset(status.value for status in RequestStatus if status not in OPEN)
#: What the desk may record of a manual system (the service's outcome codes).
MANUAL_OUTCOMES = (
    ("done", _("Found it and dealt with it")),
    ("not_found", _("Nothing about the subject there")),
    ("legal_retention", _("Kept: a legal duty to retain it")),
    ("legal_hold", _("Kept: a legal hold")),
)
#: The most months the extend form takes (as the console API); the jurisdiction's rule
#: then decides how many it allows.
MAX_EXTENSION_MONTHS = 12


def _context(request: Request) -> RequestContext:
    return RequestContext.of(services_of(request))


@router.get("/console/requests", response_class=HTMLResponse)
def queue(request: Request, staff: PageStaff, status: str = "", overdue: str = "") -> Response:
    """The queue, filtered by status or to the overdue requests."""
    errors: dict[str, str] = {}
    chosen: RequestStatus | None = None
    if status:
        try:
            chosen = RequestStatus(status)
        except ValueError:
            errors["status"] = _("Choose a status from the list.")
    late_only = overdue == "1"
    now = _context(request).clock.now()
    pack = _context(request).policy

    def work(session: Session, actor: str) -> list[DeskRequest]:
        if errors:
            return []
        return queue_view(session, now, actor, status=chosen, overdue_only=late_only, pack=pack)

    rows = must(act(request, staff, StaffAction.VIEW_REQUESTS, work))
    return render(
        request,
        "console/requests.html",
        status_code=422 if errors else 200,
        rows=rows,
        status=status if not errors else "",
        overdue=late_only,
        errors=errors,
        statuses=list(STATUSES.items()),
        kinds=KINDS,
        labels=STATUSES,
        channels=CHANNELS,
    )


def _show(
    request: Request, staff: Staff, request_id: uuid.UUID
) -> tuple[DeskRequest, bool, list[TaskView]]:
    """The desk's view of one request as of now (audited), whether a worker is
    carrying it out at the moment (an approved export or erasure), and each
    connected system's part (:mod:`doorstep.privacy.requests.systems.desk`)."""
    ctx = _context(request)
    now = ctx.clock.now()

    def work(session: Session, actor: str) -> tuple[DeskRequest, bool, list[TaskView]]:
        row = get(session, request_id)
        audit(session, row, "viewed", actor)
        parts = systems_desk.states(session, ctx, request_id, actor=actor)
        working = fulfil.being_carried_out(session, request_id)
        return view(row, now, ctx.policy), working, parts

    return must(act(request, staff, StaffAction.VIEW_REQUESTS, work))


def _page(
    request: Request,
    staff: Staff,
    request_id: uuid.UUID,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    """The request page: its facts and, where the role may decide, the forms."""
    desk, working, systems = _show(request, staff, request_id)
    settings = services_of(request).runtime.settings
    return render(
        request,
        "console/request.html",
        status_code=status_code,
        desk=desk,
        systems=systems,
        manual_outcomes=MANUAL_OUTCOMES,
        decide_systems=may(staff.role, StaffAction.DECIDE_REQUESTS) and desk.status not in CLOSED,
        working=working and desk.status not in CLOSED,
        decide=may(staff.role, StaffAction.DECIDE_REQUESTS)
        and desk.status not in CLOSED
        and not working,
        refusal_codes=[(code.value, REFUSAL_TEXT[code]) for code in STAFF_REFUSALS],
        needs_evidence=sorted(code.value for code in NEEDS_EVIDENCE),
        extension_reasons=[(reason.value, words) for reason, words in EXTENSION_TEXT.items()],
        max_months=rule_for(settings, desk.jurisdiction, desk.kind).max_extension_months,
        kinds=KINDS,
        labels=STATUSES,
        channels=CHANNELS,
        errors=errors or {},
        error=error,
        values=values or {},
    )


@router.get("/console/requests/{request_id}", response_class=HTMLResponse)
def show(request: Request, request_id: uuid.UUID, staff: PageStaff) -> HTMLResponse:
    """One request and, for a privacy officer, the decision forms."""
    return _page(request, staff, request_id)


def _decided(request_id: uuid.UUID, done: str) -> RedirectResponse:
    return RedirectResponse(f"/console/requests/{request_id}?done={done}", status_code=303)


def _refused(
    request: Request,
    staff: Staff,
    request_id: uuid.UUID,
    outcome: Outcome[Any],
    values: dict[str, str],
) -> HTMLResponse:
    """The request again, saying why the decision was not taken (nothing changed)."""
    error = outcome.error
    if error is None or isinstance(error, NotFoundError):
        must(outcome)
    assert error is not None
    errors = field_errors(outcome, WORDING)
    message = _("This cannot be done now.")
    if isinstance(error, InvalidInputError):
        message = _("Please correct what is marked below.")
    elif isinstance(error, ConflictError):
        message = CONFLICTS.get(str(error.fields.get("reason", "")), message)
    return _page(
        request,
        staff,
        request_id,
        status_code=error.status,
        errors=errors,
        error=message,
        values=values,
    )


@router.post("/console/requests/{request_id}/approve", response_class=HTMLResponse)
def approve(request: Request, request_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Carry the request out (exports and erasures are finished by a worker)."""
    ctx = _context(request)

    def work(session: Session, actor: str) -> DeskRequest:
        row = fulfil.approve(session, ctx, request_id, actor=actor)
        return view(row, ctx.clock.now(), ctx.policy)

    outcome = act(request, staff, StaffAction.DECIDE_REQUESTS, work)
    if outcome.value is None:
        return _refused(request, staff, request_id, outcome, {})
    done = "request_completed" if outcome.value.status in CLOSED else "request_approved"
    return _decided(request_id, done)


@router.post("/console/requests/{request_id}/refuse", response_class=HTMLResponse)
def refuse_request(
    request: Request, request_id: uuid.UUID, staff: PageStaff, form: Form
) -> Response:
    """Refuse with a reason code (and its evidence reference, where the code needs one)."""
    ctx = _context(request)
    code, evidence = text(form, "code"), text(form, "evidence")

    def work(session: Session, actor: str) -> bool:
        refuse(
            session, ctx, request_id, code=code or None, reviewer=actor, evidence=evidence or None
        )
        return True

    outcome = act(request, staff, StaffAction.DECIDE_REQUESTS, work)
    if not outcome.ok:
        values = {"code": code, "evidence": evidence}
        return _refused(request, staff, request_id, outcome, values)
    return _decided(request_id, "request_refused")


@router.post("/console/requests/{request_id}/extend", response_class=HTMLResponse)
def extend_request(
    request: Request, request_id: uuid.UUID, staff: PageStaff, form: Form
) -> Response:
    """Extend the deadline by some months, with a reason the requester is told."""
    ctx = _context(request)
    months, reason = text(form, "months"), text(form, "reason")

    def work(session: Session, actor: str) -> bool:
        number = whole_number(months, minimum=1, maximum=MAX_EXTENSION_MONTHS)
        if number is None:
            raise InvalidInputError(
                "choose a number of months", errors=[{"field": "months", "rule": "months"}]
            )
        extend(session, ctx, request_id, months=number, reason=reason, actor=actor)
        return True

    outcome = act(request, staff, StaffAction.DECIDE_REQUESTS, work)
    if not outcome.ok:
        values = {"months": months, "reason": reason}
        return _refused(request, staff, request_id, outcome, values)
    return _decided(request_id, "request_extended")


@router.post("/console/requests/{request_id}/systems/{system}/outcome", response_class=HTMLResponse)
def record_system(
    request: Request, request_id: uuid.UUID, system: str, staff: PageStaff, form: Form
) -> Response:
    """Record what the desk found in a manual system, with an evidence reference."""
    ctx = _context(request)
    outcome_code, evidence = text(form, "outcome"), text(form, "evidence")

    def work(session: Session, actor: str) -> bool:
        systems_desk.record_outcome(
            session, ctx, request_id, system, outcome=outcome_code, evidence=evidence, actor=actor
        )
        return True

    outcome = act(request, staff, StaffAction.DECIDE_REQUESTS, work)
    if not outcome.ok:
        return _refused(request, staff, request_id, outcome, {"evidence": evidence})
    return _decided(request_id, "system_recorded")


@router.post("/console/requests/{request_id}/systems/rerun", response_class=HTMLResponse)
def rerun_systems(
    request: Request, request_id: uuid.UUID, staff: PageStaff, form: Form
) -> Response:
    """Put only the request's failed systems back to work."""
    ctx = _context(request)

    def work(session: Session, actor: str) -> bool:
        systems_desk.rerun(session, ctx, request_id, actor=actor)
        return True

    outcome = act(request, staff, StaffAction.DECIDE_REQUESTS, work)
    if not outcome.ok:
        return _refused(request, staff, request_id, outcome, {})
    return _decided(request_id, "systems_rerun")
