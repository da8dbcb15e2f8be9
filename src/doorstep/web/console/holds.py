"""The operator console's legal holds: the list, and the forms that place and release them.

* ``GET /console/holds`` — the holds (``place_holds``), standing first, and the
  form that places one: subject id, element (a table or table.column of the
  data map; empty for all the data), legal basis, authority and reference;
* ``POST /console/holds`` — place it (:func:`doorstep.privacy.holds.services.place`);
  a refusal of the input re-renders the page with a message per field, an
  unknown subject or the same hold twice a message on the form: nothing changed;
* ``POST /console/holds/{id}/release`` — release it; the erasures it deferred
  are queued and the next retention sweep takes the rest.

Only a privacy officer has ``place_holds``; any other role gets the 403 page
(``require_action`` has recorded the refusal).  The list is audited as the
console API audits it (``holds.listed``).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.core.models import schema_metadata
from doorstep.privacy.holds import services as holds
from doorstep.privacy.holds.basis import BASIS_TEXT
from doorstep.privacy.requests.holds_console import HoldView, holds_view
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import Staff
from doorstep.web.console.staff_work import Form, act, field_errors, must, text
from doorstep.web.i18n import _
from doorstep.web.session import PageStaff
from doorstep.web.templating import DONE, render
from doorstep.web.work import Outcome, services_of

router = APIRouter(include_in_schema=False)

DONE.update(
    {
        "hold_placed": _(
            "The hold is placed: erasure and the retention sweeps keep what it holds."
        ),
        "hold_released": _(
            "The hold is released: deferred erasures are queued and the next sweep takes the rest."
        ),
    }
)

#: What a form field says for a rule the services name.
WORDING: dict[tuple[str, str], str] = {
    ("subject_id", "uuid"): _("Enter the data subject's id (a UUID)."),
    ("element", "holdable_element"): _(
        "Enter a table or table.column of the data map that holds personal data, or leave it empty."
    ),
    ("basis", "hold_basis"): _("Choose the legal basis."),
    ("authority", "authority"): _("Name the authority or the law, in a few words."),
    ("reference", "hold_reference"): _(
        "Enter the authority's reference: letters, digits and . _ : - only, like AO-147."
    ),
}
CONFLICTS: dict[str, str] = {
    "already_held": _("This hold stands already."),
    "already_released": _("The hold is released already."),
}


def _page(
    request: Request,
    staff: Staff,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    def work(session: Session, actor: str) -> list[HoldView]:
        return holds_view(session, actor)

    rows = must(act(request, staff, StaffAction.PLACE_HOLDS, work))
    return render(
        request,
        "console/holds.html",
        status_code=status_code,
        rows=rows,
        bases=[(basis.value, words) for basis, words in BASIS_TEXT.items()],
        errors=errors or {},
        error=error,
        values=values or {},
    )


@router.get("/console/holds", response_class=HTMLResponse)
def page(request: Request, staff: PageStaff) -> HTMLResponse:
    """The holds and the place form."""
    return _page(request, staff)


def _refused(
    request: Request, staff: Staff, outcome: Outcome[Any], values: dict[str, str]
) -> HTMLResponse:
    error = outcome.error
    assert error is not None
    message = _("This cannot be done now.")
    if isinstance(error, InvalidInputError):
        message = _("Please correct what is marked below.")
    elif isinstance(error, NotFoundError):
        message = _("No data subject or hold has this id.")
    elif isinstance(error, ConflictError):
        message = CONFLICTS.get(str(error.fields.get("reason", "")), message)
    return _page(
        request,
        staff,
        status_code=error.status,
        errors=field_errors(outcome, WORDING),
        error=message,
        values=values,
    )


@router.post("/console/holds", response_class=HTMLResponse)
def place(request: Request, staff: PageStaff, form: Form) -> Response:
    """Place a hold from the form."""
    clock = services_of(request).runtime.clock
    values = {
        name: text(form, name)
        for name in ("subject_id", "element", "basis", "authority", "reference")
    }

    def work(session: Session, actor: str) -> uuid.UUID:
        given = holds.check(
            schema_metadata(),
            subject_id=values["subject_id"],
            element=values["element"] or None,
            basis=values["basis"],
            authority=values["authority"],
            reference=values["reference"],
        )
        return holds.place(session, clock, given, actor=actor).id

    outcome = act(request, staff, StaffAction.PLACE_HOLDS, work)
    if not outcome.ok:
        return _refused(request, staff, outcome, values)
    return RedirectResponse("/console/holds?done=hold_placed", status_code=303)


@router.post("/console/holds/{hold_id}/release", response_class=HTMLResponse)
def release(request: Request, hold_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Release a standing hold."""
    clock = services_of(request).runtime.clock

    def work(session: Session, actor: str) -> bool:
        holds.release(session, clock, hold_id, actor=actor)
        return True

    outcome = act(request, staff, StaffAction.PLACE_HOLDS, work)
    if not outcome.ok:
        return _refused(request, staff, outcome, {})
    return RedirectResponse("/console/holds?done=hold_released", status_code=303)
