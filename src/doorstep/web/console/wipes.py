"""The console's side of removing a subscriber's settings from a router (decision 0042).

* ``GET /console/wipes`` — removals that failed (a router that never came back in
  ``wipe_deadline_days``, or refused a part), and those still waiting: how staff hear
  of them, besides the audit trail (``devices.wipe_failed``) and ``doorstep devices
  wipes``;
* ``POST /console/devices/{device_id}/mark`` — mark the device ``returned`` (removal
  of the owner's settings offered: the box is ticked) or ``resold`` (always removed);
  its binding ends (:func:`doorstep.devices.fleet.wipes.mark_device`);
* :func:`device_section` — the device page's part: its removals and the form, for a
  role that may ``manage_fleet`` (None for others).

Every action needs ``manage_fleet``; another role gets the 403 page, recorded by
``require_action``.  Pages show ids, states and codes: never whose settings they were.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from doorstep.core.errors import InvalidInputError
from doorstep.devices.fleet.wipe_models import WipeTrigger
from doorstep.devices.fleet.wipes import failed_wipes, mark_device, wipes_of_device
from doorstep.staff.permissions import StaffAction, may
from doorstep.staff.services import Staff
from doorstep.web.console.staff_work import Form, act, must, text
from doorstep.web.i18n import _
from doorstep.web.session import PageStaff
from doorstep.web.templating import DONE, render
from doorstep.web.work import services_of

router = APIRouter(include_in_schema=False)
MARKS = {"returned": WipeTrigger.RETURNED, "resold": WipeTrigger.RESOLD}
DONE.update(
    {
        "marked_returned": _(
            "The device is marked returned: its binding ended; the owner's settings are removed "
            "from it when it is online, if you asked for it."
        ),
        "marked_resold": _(
            "The device is marked resold: its binding ended; the owner's settings are removed "
            "from it when it is online."
        ),
    }
)


def device_section(session: Session, staff: Staff, device_id: uuid.UUID) -> dict[str, Any] | None:
    """The device page's removals and marking form; None for a role without ``manage_fleet``."""
    if not may(staff.role, StaffAction.MANAGE_FLEET):
        return None
    return {"wipes": wipes_of_device(session, device_id, limit=10)}


@router.get("/console/wipes", response_class=HTMLResponse)
def wipes_page(request: Request, staff: PageStaff) -> HTMLResponse:
    """Failed removals first-in first-out, then those still waiting for their router."""

    def work(session: Session, actor: str) -> dict[str, Any]:
        rows = failed_wipes(session, include_pending=True)
        return {
            "failed": [row for row in rows if row.state.value == "failed"],
            "pending": [row for row in rows if row.state.value == "pending"],
        }

    found = must(act(request, staff, StaffAction.MANAGE_FLEET, work))
    days = services_of(request).runtime.settings.wipe_deadline_days
    return render(request, "console/wipes.html", days=days, **found)


@router.post("/console/devices/{device_id}/mark", response_class=HTMLResponse)
def mark(request: Request, device_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Mark the device returned or resold (see the module docstring)."""
    runtime = services_of(request).runtime
    chosen, wipe = text(form, "mark"), text(form, "wipe") == "1"

    def work(session: Session, actor: str) -> None:
        trigger = MARKS.get(chosen)
        if trigger is None:
            raise InvalidInputError.of("mark", "one_of", "choose returned or resold")
        mark_device(
            session,
            device_id,
            trigger,
            wipe=wipe,
            actor=actor,
            settings=runtime.settings,
            clock=runtime.clock,
        )

    outcome = act(request, staff, StaffAction.MANAGE_FLEET, work)
    if outcome.ok:
        return RedirectResponse(f"/console/devices/{device_id}?done=marked_{chosen}", 303)
    assert outcome.error is not None
    raise outcome.error  # no such device, no mark chosen: the error page
