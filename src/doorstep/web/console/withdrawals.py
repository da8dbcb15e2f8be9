"""The operator console's withdrawals told to connected systems.

* ``GET /console/withdrawals[?state=]`` (``view_requests``) — every system told
  of a withdrawn consent or an objection, newest first (``state=failed``: what
  needs the desk): system, purpose, cause, state, attempts, the failure's reason,
  evidence, a manual task's due date.  A manual system's waiting task shows the
  identifiers to search by only to a role that may read them for the privacy
  desk (:mod:`doorstep.privacy.connectors.withdrawals.desk`, audited).
* ``POST /console/withdrawals/{id}/outcome`` (``decide_requests``) — the desk
  stopped the purpose in a manual system by hand (or found no one there), with
  an evidence reference;
* ``POST /console/withdrawals/{id}/rerun`` (``decide_requests``) — a failed
  system's task back to work.

A refusal of the input re-renders the page with a message (nothing changed);
a role without the action gets the 403 page.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.connectors.withdrawals import desk
from doorstep.privacy.connectors.withdrawals.models import WithdrawalState
from doorstep.staff.permissions import StaffAction, may
from doorstep.staff.services import Staff
from doorstep.web.console.staff_work import Form, act, field_errors, must, text
from doorstep.web.i18n import _
from doorstep.web.session import PageStaff
from doorstep.web.templating import DONE, render
from doorstep.web.work import Outcome, services_of

router = APIRouter(include_in_schema=False)

DONE.update(
    {
        "withdrawal_recorded": _("The system's outcome is recorded."),
        "withdrawal_rerun": _("The system is being told again."),
    }
)
WORDING: dict[tuple[str, str], str] = {
    ("evidence", "reference"): _(
        "Enter a reference of letters, digits and . _ : - only, like TICKET-1234."
    ),
    ("outcome", "one_of"): _("Choose what you did."),
    ("state", "withdrawal_state"): _("Choose a state from the list."),
}
CONFLICTS: dict[str, str] = {
    "kind": _("Only a manual system's outcome is recorded here."),
    "not_failed": _("Only a failed system is told again."),
}
#: What the desk may record of a manual system.
OUTCOMES = (
    ("done", _("Stopped it there")),
    ("not_found", _("Nobody by these identifiers there")),
)


def _page(
    request: Request,
    staff: Staff,
    *,
    state: str = "",
    status_code: int = 200,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    task: uuid.UUID | None = None,
) -> HTMLResponse:
    services = services_of(request)
    chosen = state or None
    errors = dict(errors or {})
    if chosen is not None and chosen not in {item.value for item in WithdrawalState}:
        errors["state"] = _("Choose a state from the list.")
        chosen = None

    def work(session: Session, actor: str) -> list[desk.WithdrawalView]:
        return desk.listing(
            session, services.pack, services.gate, staff.role, actor=actor, state=chosen
        )

    rows = must(act(request, staff, StaffAction.VIEW_REQUESTS, work))
    return render(
        request,
        "console/withdrawals.html",
        status_code=422 if "state" in errors and status_code == 200 else status_code,
        rows=rows,
        state=chosen or "",
        states=[item.value for item in WithdrawalState],
        outcomes=OUTCOMES,
        decide=may(staff.role, StaffAction.DECIDE_REQUESTS),
        errors=errors,
        error=error,
        failed_task=str(task) if task is not None else "",
    )


@router.get("/console/withdrawals", response_class=HTMLResponse)
def page(request: Request, staff: PageStaff, state: str = "") -> HTMLResponse:
    """The systems told of withdrawals (of one state, when chosen)."""
    return _page(request, staff, state=state)


def _refused(
    request: Request, staff: Staff, outcome: Outcome[Any], task: uuid.UUID | None = None
) -> HTMLResponse:
    error = outcome.error
    assert error is not None
    message = _("This cannot be done now.")
    if isinstance(error, InvalidInputError):
        message = _("Please correct what is marked below.")
    elif isinstance(error, NotFoundError):
        message = _("No withdrawal task has this id.")
    elif isinstance(error, ConflictError):
        message = CONFLICTS.get(str(error.fields.get("reason", "")), message)
    return _page(
        request,
        staff,
        status_code=error.status,
        error=message,
        errors=field_errors(outcome, WORDING),
        task=task,
    )


@router.post("/console/withdrawals/{task_id}/outcome", response_class=HTMLResponse)
def record_outcome(request: Request, task_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """What the desk did in a manual system, with an evidence reference."""
    services = services_of(request)
    outcome_code, evidence = text(form, "outcome"), text(form, "evidence")

    def work(session: Session, actor: str) -> bool:
        desk.confirm(
            session,
            services.runtime.clock,
            services.pack,
            task_id,
            outcome=outcome_code,
            evidence=evidence,
            actor=actor,
        )
        return True

    outcome = act(request, staff, StaffAction.DECIDE_REQUESTS, work)
    if not outcome.ok:
        return _refused(request, staff, outcome, task_id)
    return RedirectResponse("/console/withdrawals?done=withdrawal_recorded", status_code=303)


@router.post("/console/withdrawals/{task_id}/rerun", response_class=HTMLResponse)
def rerun(request: Request, task_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Tell a failed system again."""

    def work(session: Session, actor: str) -> bool:
        desk.rerun(session, task_id, actor=actor)
        return True

    outcome = act(request, staff, StaffAction.DECIDE_REQUESTS, work)
    if not outcome.ok:
        return _refused(request, staff, outcome)
    return RedirectResponse("/console/withdrawals?done=withdrawal_rerun", status_code=303)
