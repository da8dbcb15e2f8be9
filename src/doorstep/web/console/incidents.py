"""The operator console's incident desk: the incidents, one incident, and its report downloads.

* ``GET /console/incidents`` — the incidents (``manage_incidents``), newest
  awareness first, those with an obligation past its clock marked, and the form
  that opens one: type, when the desk became aware, the window (UTC unless an
  offset is given), systems, elements, device models, devices, subjects and
  jurisdictions known to be affected;
* ``POST /console/incidents`` — open it
  (:func:`doorstep.privacy.incidents.services.open_incident`: tasks, affected
  subjects, obligations at once) and go to its page; a refusal re-renders the
  list with a message per field, nothing changed;
* ``GET /console/incidents/{id}`` — the incident (:mod:`.incident_page`): tasks,
  affected subjects by jurisdiction and notice status, obligations with their
  clocks (overdue ones highlighted), deliveries per channel and status, the
  notices, public notices, and the forms of :mod:`.incident_actions`;
* ``GET /console/incidents/{id}/obligations/{obligation}/report?format=json|md``
  — the report to one authority as a download (audited as the API's).

Only a privacy officer has ``manage_incidents``; any other role gets the 403
page (``require_action`` has recorded the refusal).  The pages show ids, names,
counts, states and instants, never a value of anyone's data.
"""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from doorstep.core.errors import InvalidInputError
from doorstep.privacy.incidents import reports
from doorstep.privacy.incidents import services as svc
from doorstep.privacy.incidents.desk import obligation_of, overdue_incidents
from doorstep.privacy.incidents.models import Incident
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import Staff
from doorstep.web.console import incident_actions
from doorstep.web.console.incident_page import (
    KINDS,
    WORDING,
    context_of,
    ids,
    incident_page,
    instant,
    names,
)
from doorstep.web.console.staff_work import Form, act, field_errors, must, text
from doorstep.web.i18n import _
from doorstep.web.session import PageStaff
from doorstep.web.templating import DONE, render
from doorstep.web.work import services_of

router = APIRouter(include_in_schema=False)
router.include_router(incident_actions.router)

DONE.update(
    {
        "incident_opened": _(
            "The incident is open: its tasks, the affected subscribers and the obligations "
            "with their clocks are below."
        ),
    }
)
#: The fields of the open form.
OPEN_FIELDS = (
    "kind",
    "aware_at",
    "window_start",
    "window_end",
    "systems",
    "elements",
    "device_models",
    "device_ids",
    "subject_ids",
    "jurisdictions",
)


def _list(
    request: Request,
    staff: Staff,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    ctx = context_of(request)

    def work(session: Session, actor: str) -> tuple[list[Incident], set[uuid.UUID]]:
        return svc.list_incidents(session), overdue_incidents(session, ctx)

    rows, late = must(act(request, staff, StaffAction.MANAGE_INCIDENTS, work))
    return render(
        request,
        "console/incidents.html",
        status_code=status_code,
        rows=rows,
        late=late,
        kinds=KINDS,
        jurisdictions=sorted(ctx.rules.jurisdictions),
        errors=errors or {},
        error=_("Please correct what is marked below.") if errors else None,
        values=values or {},
    )


@router.get("/console/incidents", response_class=HTMLResponse)
def incidents(request: Request, staff: PageStaff) -> HTMLResponse:
    """The incidents and the form that opens one."""
    return _list(request, staff)


@router.post("/console/incidents", response_class=HTMLResponse)
def open_incident(request: Request, staff: PageStaff, form: Form) -> Response:
    """Open an incident from the form; its page follows."""
    ctx = context_of(request)
    values = {name: text(form, name) for name in OPEN_FIELDS}
    named = [str(item) for item in form.getlist("jurisdictions")]
    values["jurisdictions"] = ",".join(named)

    def work(session: Session, actor: str) -> uuid.UUID:
        if not values["kind"]:
            raise InvalidInputError(
                "choose the type", errors=[{"field": "kind", "rule": "required"}]
            )
        incident = svc.open_incident(
            session,
            ctx,
            kind=values["kind"],
            actor=actor,
            aware_at=instant(values["aware_at"], "aware_at"),
            window_start=instant(values["window_start"], "window_start"),
            window_end=instant(values["window_end"], "window_end"),
            systems=names(values["systems"]),
            elements=names(values["elements"]),
            device_models=names(values["device_models"]),
            device_ids=ids(values["device_ids"], "device_ids"),
            subject_ids=ids(values["subject_ids"], "subject_ids"),
            jurisdictions=named,
        )
        return incident.id

    outcome = act(request, staff, StaffAction.MANAGE_INCIDENTS, work)
    if outcome.value is None:
        errors = field_errors(outcome, WORDING) or {"kind": _("This cannot be done now.")}
        return _list(
            request,
            staff,
            status_code=outcome.error.status if outcome.error else 422,
            errors=errors,
            values=values,
        )
    return RedirectResponse(
        f"/console/incidents/{outcome.value}?done=incident_opened", status_code=303
    )


@router.get("/console/incidents/{incident_id}", response_class=HTMLResponse)
def incident(request: Request, incident_id: uuid.UUID, staff: PageStaff) -> HTMLResponse:
    """One incident, its clocks and the workflow's forms."""
    return incident_page(request, staff, incident_id)


@router.get("/console/incidents/{incident_id}/obligations/{obligation_id}/report")
def report(
    request: Request,
    incident_id: uuid.UUID,
    obligation_id: uuid.UUID,
    staff: PageStaff,
    format: str = "json",
) -> Response:
    """The report to one authority as a file: JSON or Markdown (no personal data)."""
    if format not in ("json", "md"):
        raise InvalidInputError(
            "the format is json or md", errors=[{"field": "format", "rule": "one_of_json_md"}]
        )
    ctx = context_of(request)
    pack = services_of(request).pack

    def work(session: Session, actor: str) -> str:
        obligation_of(session, incident_id, obligation_id)
        data = reports.regulator_report(session, ctx, pack, obligation_id, actor=actor)
        if format == "md":
            return reports.report_markdown(data)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    body = must(act(request, staff, StaffAction.MANAGE_INCIDENTS, work))
    name = f"breach-report-{obligation_id}.{format}"
    return Response(
        body,
        media_type="text/markdown" if format == "md" else "application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
