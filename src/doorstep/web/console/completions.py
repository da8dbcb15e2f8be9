"""The operator console's completion events: the list, the sources' scans, recording by hand.

* ``GET /console/completions[?system=]`` (``view_requests``) — every event,
  newest first, of one system when chosen (a GET form filters): the system, the
  kind of record, its id — shown only to a role that may read it for the privacy
  desk, otherwise "withheld" (:mod:`doorstep.privacy.connectors.completions.overview`)
  — when it was recorded and by whom, the retention rule it scheduled and when
  that deletion runs, and where it stands; then each declared source's scan
  (watermark, last run, events recorded, last failure).  Audited
  ``completion.listed``.
* ``POST /console/completions`` (``decide_requests``) — record one by hand: the
  kind of record (one of the pack's ``completions:``), its id, optionally when
  it was closed (ISO 8601 with its zone; default now) and its subject's id —
  the code path of the API and the CLI
  (:func:`~doorstep.privacy.connectors.completions.record.record`).
  Bad input re-renders the page with a message per field, nothing stored; the
  same record twice is a message on the form.

A role without the action gets the 403 page (``require_action`` recorded it).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.privacy.connectors.completions.overview import Overview, closable, overview
from doorstep.privacy.connectors.completions.record import Closing, record
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
        "completion_recorded": _(
            "The completion is recorded; its deletion is scheduled by its retention rule."
        ),
    }
)

#: What a form field says for a rule the services name.
WORDING: dict[tuple[str, str], str] = {
    ("closed", "declared_kind"): _("Choose what was closed from the list."),
    ("kind", "declared_kind"): _("Choose what was closed from the list."),
    ("record_id", "reference"): _(
        "Enter the record's id: letters, digits and . _ : @ - only, like DS-10001."
    ),
    ("at", "aware"): _("Enter the time with its zone, like 2026-12-01T10:00:00+00:00."),
    ("at", "not_future"): _("A record cannot be closed in the future."),
    ("at", "instant"): _("Enter the time with its zone, like 2026-12-01T10:00:00+00:00."),
    ("subject_id", "known_subject"): _("No data subject has this id."),
    ("subject_id", "uuid"): _("Enter the data subject's id (a UUID), or leave it empty."),
    ("system", "declared_system"): _("Choose a system from the list."),
}
FIELDS = ("closed", "record_id", "at", "subject_id")


def _page(
    request: Request,
    staff: Staff,
    *,
    system: str = "",
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    services = services_of(request)
    pack = services.pack
    errors = dict(errors or {})

    def work(session: Session, actor: str) -> Overview:
        chosen = system or None
        if chosen is not None and chosen not in pack.systems.systems:
            errors["system"] = _("Choose a system from the list.")
            chosen = None
        return overview(session, pack, services.gate, staff.role, actor=actor, system=chosen)

    found = must(act(request, staff, StaffAction.VIEW_REQUESTS, work))
    systems = [(key, item.name) for key, item in pack.systems.systems.items() if item.completions]
    return render(
        request,
        "console/completions.html",
        status_code=422 if "system" in errors and status_code == 200 else status_code,
        found=found,
        system=system if "system" not in errors else "",
        systems=systems,
        closable=[(f"{key}:{kind}", words) for key, kind, words in closable(pack)],
        may_record=may(staff.role, StaffAction.DECIDE_REQUESTS),
        errors=errors,
        error=error,
        values=values or {},
    )


@router.get("/console/completions", response_class=HTMLResponse)
def page(request: Request, staff: PageStaff, system: str = "") -> HTMLResponse:
    """The events (of one system, when chosen), the sources, and the form."""
    return _page(request, staff, system=system)


def _refused(
    request: Request, staff: Staff, outcome: Outcome[Any], values: dict[str, str]
) -> HTMLResponse:
    error = outcome.error
    assert error is not None
    message = _("This cannot be done now.")
    if isinstance(error, InvalidInputError):
        message = _("Please correct what is marked below.")
    elif isinstance(error, NotFoundError):
        message = _("Choose what was closed from the list.")
    elif isinstance(error, ConflictError):
        message = _("This record's completion is recorded already.")
    return _page(
        request,
        staff,
        status_code=error.status,
        errors=field_errors(outcome, WORDING),
        error=message,
        values=values,
    )


def _closing(values: dict[str, str]) -> Closing:
    """The form's values as a :class:`Closing`; InvalidInputError naming the bad field."""
    system, _sep, kind = values["closed"].partition(":")
    if not system or not kind:
        raise InvalidInputError.of("closed", "declared_kind", "choose what was closed")
    at = None
    if values["at"]:
        try:
            at = datetime.fromisoformat(values["at"])
        except ValueError:
            raise InvalidInputError.of("at", "instant", "an ISO 8601 instant") from None
    subject = None
    if values["subject_id"]:
        try:
            subject = uuid.UUID(values["subject_id"])
        except ValueError:
            raise InvalidInputError.of("subject_id", "uuid", "a UUID") from None
    return Closing(system, kind, values["record_id"], at, subject)


@router.post("/console/completions", response_class=HTMLResponse)
def record_by_hand(request: Request, staff: PageStaff, form: Form) -> Response:
    """Record a closed record from the form; its deletion is scheduled by its rule."""
    services = services_of(request)
    values = {name: text(form, name) for name in FIELDS}

    def work(session: Session, actor: str) -> str:
        given = _closing(values)
        row = record(
            session,
            services.runtime.clock,
            services.pack,
            services.runtime.settings,
            given,
            actor=actor,
        )
        return row.system

    outcome = act(request, staff, StaffAction.DECIDE_REQUESTS, work)
    if outcome.value is None:
        if isinstance(outcome.error, InvalidInputError):
            for item in outcome.error.fields.get("errors") or ():
                if isinstance(item, dict) and item.get("field") == "kind":
                    item["field"] = "closed"  # the form's one select names system and kind
        return _refused(request, staff, outcome, values)
    return RedirectResponse(
        f"/console/completions?system={quote(outcome.value)}&done=completion_recorded",
        status_code=303,
    )
