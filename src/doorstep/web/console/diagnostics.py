"""The console's diagnostics of one device: support tests a subscriber's device (decision 0041).

* :func:`device_diagnostics` — the device page's "Diagnostics" section, for a staff
  member with ``run_diagnostics`` (support; None for other roles): the form, and the
  device's newest runs (ids, kind, state, ground, the device's code).  The result of a
  run is personal data of the device's owner: each is read through
  :func:`~doorstep.staff.services.staff_read` for ``device.diagnostics`` (the role's
  grant, then the owner's choices; audited), or shown as not readable with the reason.
* ``POST /console/devices/{device_id}/diagnostics`` — run one, on an after-sales ticket
  (its reference) or with the owner's consent ``device.diagnostics_by_staff``
  (:func:`doorstep.devices.fleet.diagnostics.start_run`).  Success goes back to the
  device page (``?done=diagnostic_queued``): a controller runs it and the page shows its
  result once stored.  A refusal (no ground, no consent, a bad host or ticket) goes back
  with ``?diagnostic_refused=<code>`` — a code of :data:`REFUSALS`, never a value typed —
  and nothing is stored or queued; the refusal is audited by the service.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from doorstep.core.errors import DoorstepError, InvalidInputError, PurposeRefusedError
from doorstep.devices.fleet.diagnostics import Context, Ground, GroundRefusedError, start_run
from doorstep.devices.fleet.diagnostics_models import PURPOSE, DiagnosticRun
from doorstep.devices.fleet.diagnostics_views import RunView, runs_of
from doorstep.privacy.purposes.gate import PurposeGate
from doorstep.staff.exceptions import StaffPermissionDeniedError
from doorstep.staff.permissions import StaffAction, may
from doorstep.staff.services import Staff, staff_read
from doorstep.web.console.staff_work import Form, act, text
from doorstep.web.i18n import _
from doorstep.web.session import PageStaff
from doorstep.web.templating import DONE
from doorstep.web.work import services_of

router = APIRouter(include_in_schema=False)
ELEMENT = "diagnostic_runs.result"
DONE.update({"diagnostic_queued": _("The diagnostic is queued: a controller runs it.")})
#: Why a run was refused, by the code the page is sent back with.
REFUSALS: dict[str, str] = {
    "ground": _("Name the after-sales ticket, or rely on the subscriber's consent."),
    "ticket": _("The ticket reference is the ticketing system's id, like AS-2026-0042."),
    "input": _("Choose a test; a ping or a trace route needs a host name or an address."),
    "consent": _("The subscriber has not given (or has withdrawn) this consent."),
    "refused": _("This diagnostic is not allowed for this device."),
}
KINDS = (
    ("ping", _("Ping a host")),
    ("traceroute", _("Trace the route to a host")),
    ("download", _("Download speed test")),
    ("upload", _("Upload speed test")),
)

#: The grounds staff may run one on (the labels are translated by the form's macro).
GROUNDS = (
    ("ticket", _("An after-sales ticket")),
    ("consent", _("The owner's consent to tests by support")),
)


@dataclass(frozen=True, slots=True)
class Shown:
    """One run on the console: its view and its result as this staff member may see it."""

    run: RunView
    result: dict[str, Any] | None
    not_shown: str | None


def _read_result(
    session: Session, staff: Staff, gate: PurposeGate, run: RunView, owner: uuid.UUID | None
) -> Shown:
    if run.result is None:
        return Shown(run, None, None)
    if owner is None:  # bound to nobody when asked: nobody's choices to apply
        return Shown(run, dict(run.result), None)

    def reader(
        session: Session, metadata: sa.MetaData, element: str, subject_id: uuid.UUID
    ) -> tuple[object, ...]:
        return (session.scalar(sa.select(DiagnosticRun.result).where(DiagnosticRun.id == run.id)),)

    try:
        found = staff_read(session, staff.id, owner, ELEMENT, PURPOSE, gate=gate, reader=reader)
    except (StaffPermissionDeniedError, PurposeRefusedError) as exc:  # audited there
        return Shown(run, None, str(exc.fields.get("reason")))
    value = found.values[0] if found.values else None
    return Shown(run, dict(value) if isinstance(value, dict) else None, None)


def device_diagnostics(
    session: Session, staff: Staff, device_id: uuid.UUID, gate: PurposeGate, refused: str
) -> dict[str, Any] | None:
    """The device page's diagnostics section; None for a role without ``run_diagnostics``."""
    if not may(staff.role, StaffAction.RUN_DIAGNOSTICS):
        return None
    owners = dict(
        session.execute(
            sa.select(DiagnosticRun.id, DiagnosticRun.subject_id).where(
                DiagnosticRun.device_id == device_id
            )
        ).all()
    )
    runs = [
        _read_result(session, staff, gate, run, owners.get(run.id))
        for run in runs_of(session, device_id, limit=5)
    ]
    return {"runs": runs, "kinds": KINDS, "grounds": GROUNDS, "refused": REFUSALS.get(refused)}


def _code(error: DoorstepError | None) -> str:
    if isinstance(error, InvalidInputError):
        rules = [str(item.get("field")) for item in error.fields.get("errors") or ()]
        return "ticket" if "ticket" in rules else "input"
    if isinstance(error, GroundRefusedError):
        return "ground"
    if isinstance(error, PurposeRefusedError):
        return "consent" if "consent" in str(error.fields.get("reason")) else "refused"
    return "refused"


@router.post("/console/devices/{device_id}/diagnostics")
def run_diagnostic(
    request: Request, device_id: uuid.UUID, staff: PageStaff, form: Form
) -> Response:
    """Run a diagnostic on the device, on a ticket or with the owner's consent."""
    services = services_of(request)
    kind, host, ticket = text(form, "kind"), text(form, "host"), text(form, "ticket")
    ground = Ground.by_consent() if text(form, "ground") == "consent" else Ground.on_ticket(ticket)
    inputs = {"host": host} if host else {}
    context = Context.of(services)

    def work(session: Session, actor: str) -> uuid.UUID:
        return start_run(
            session, device_id, kind, inputs, ground=ground, actor=actor, context=context
        )

    outcome = act(request, staff, StaffAction.RUN_DIAGNOSTICS, work)
    page = f"/console/devices/{device_id}"
    if outcome.ok:
        return RedirectResponse(f"{page}?done=diagnostic_queued#diagnostics", 303)
    if isinstance(outcome.error, DoorstepError) and outcome.error.status == 404:
        raise outcome.error
    return RedirectResponse(f"{page}?diagnostic_refused={_code(outcome.error)}#diagnostics", 303)
