"""The console's firmware rollouts: the list, one rollout followed live, and its verbs.

* ``GET /console/rollouts`` — the newest rollouts (state, wave, devices done, failed) and
  the form that starts one on a device group: image, canary share, growth of the waves,
  devices in flight per wave and per model, failure threshold, maintenance window and
  its time zone (:func:`doorstep.devices.fleet.rollouts.create_rollout`, then
  ``start_rollout``); a refused form says what is wrong, and nothing is stored;
* ``GET /console/rollouts/{id}`` — one rollout: its plan, a progress bar and each wave's
  counts, the failures by reason and device error code; while it moves, htmx replaces
  the ``#progress`` block every 2 seconds from ``GET /console/rollouts/{id}/progress``
  (a small HTML fragment; without JavaScript the page is reloaded by hand);
* ``POST /console/rollouts/{id}/start|pause|resume|abort`` — the verbs, each a form
  with the CSRF token; a verb the state does not allow re-renders the page with a
  message and changes nothing.

Every page needs ``manage_fleet`` (decision 0038); the views carry ids, versions,
states and counts, never a device's identifiers.
"""

from __future__ import annotations

import uuid
from datetime import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from doorstep.core.errors import ConflictError, DoorstepError, InvalidInputError
from doorstep.devices.fleet import groups as fleet_groups
from doorstep.devices.fleet import images as fleet_images
from doorstep.devices.fleet import rollouts as fleet_rollouts
from doorstep.devices.fleet.rollout_plan import RolloutSpec
from doorstep.devices.fleet.rollout_views import (
    FailureCount,
    RolloutView,
    failure_breakdown,
    list_rollouts,
    rollout_view,
)
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import Staff
from doorstep.web.console.staff_work import Form, act, must, text
from doorstep.web.i18n import _
from doorstep.web.session import PageStaff
from doorstep.web.templating import DONE, render
from doorstep.web.work import services_of

router = APIRouter(include_in_schema=False)
VERBS = ("start", "pause", "resume", "abort")
STATES: dict[str, str] = {
    "draft": _("Draft"),
    "running": _("Running"),
    "paused": _("Paused"),
    "auto_paused": _("Paused by itself: a wave failed too often"),
    "aborted": _("Aborted"),
    "finished": _("Finished"),
}
DONE.update(
    {
        "rollout_start": _("The rollout started: the canary wave is under way."),
        "rollout_pause": _("The rollout is paused: devices updating now finish, no other starts."),
        "rollout_resume": _("The rollout goes on."),
        "rollout_abort": _("The rollout is aborted: devices updating now finish, the rest won't."),
    }
)
FIELDS = (
    "name",
    "group",
    "image",
    "canary_percent",
    "growth",
    "max_in_flight",
    "max_per_model",
    "failure_threshold",
    "window_start",
    "window_end",
    "time_zone",
)
DEFAULTS = {
    "canary_percent": "1",
    "growth": "2",
    "max_in_flight": "50",
    "failure_threshold": "10",
    "time_zone": "UTC",
}


def _page(
    request: Request,
    staff: Staff,
    *,
    status_code: int = 200,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    def work(session: Session, actor: str) -> tuple[list[RolloutView], list[Any], list[Any]]:
        return (
            list_rollouts(session),
            fleet_groups.list_groups(session),
            fleet_images.list_images(session),
        )

    rows, groups, images = must(act(request, staff, StaffAction.MANAGE_FLEET, work))
    return render(
        request,
        "console/rollouts.html",
        status_code=status_code,
        rows=rows,
        groups=groups,
        images=images,
        states=STATES,
        error=error,
        errors=errors or {},
        values=values or DEFAULTS,
    )


@router.get("/console/rollouts", response_class=HTMLResponse)
def rollouts_page(request: Request, staff: PageStaff) -> HTMLResponse:
    """The newest rollouts and the form that starts one."""
    return _page(request, staff)


def _number(value: str, kind: type[int] | type[float]) -> Any:
    try:
        return kind(value) if value else None
    except ValueError:
        raise InvalidInputError.of("form", "number", "a number is expected") from None


def _clock_time(value: str, field: str) -> time | None:
    try:
        return time.fromisoformat(value) if value else None
    except ValueError:
        raise InvalidInputError.of(field, "time", "a time like 02:00 is expected") from None


def _spec(values: dict[str, str]) -> RolloutSpec:
    try:
        group_id, image_id = uuid.UUID(values["group"]), uuid.UUID(values["image"])
    except ValueError:
        raise InvalidInputError.of("group", "required", "choose a group and an image") from None
    return RolloutSpec(
        name=values["name"],
        image_id=image_id,
        group_id=group_id,
        canary_percent=_number(values["canary_percent"], float),
        growth=_number(values["growth"], float),
        max_in_flight=_number(values["max_in_flight"], int) or 0,
        max_per_model=_number(values["max_per_model"], int),
        failure_threshold=_number(values["failure_threshold"], float) or 0.0,
        window_start=_clock_time(values["window_start"], "window"),
        window_end=_clock_time(values["window_end"], "window"),
        time_zone=values["time_zone"] or "UTC",
    )


@router.post("/console/rollouts", response_class=HTMLResponse)
def create(request: Request, staff: PageStaff, form: Form) -> Response:
    """Create a rollout from the form and start it."""
    clock = services_of(request).runtime.clock
    values = {name: text(form, name) for name in FIELDS}

    def work(session: Session, actor: str) -> uuid.UUID:
        made = fleet_rollouts.create_rollout(session, _spec(values), actor=actor, clock=clock)
        fleet_rollouts.start_rollout(session, made.id, actor=actor, clock=clock)
        return made.id

    outcome = act(request, staff, StaffAction.MANAGE_FLEET, work)
    if outcome.ok:
        return RedirectResponse(f"/console/rollouts/{outcome.value}?done=rollout_start", 303)
    error = outcome.error
    errors: dict[str, str] = {}
    message = _("Please correct what is marked below.")
    if isinstance(error, InvalidInputError):
        for item in error.fields.get("errors") or ():
            field = str(item.get("field"))
            errors[field if field in FIELDS else "name"] = _("This is not valid.")
    elif isinstance(error, ConflictError):
        message = _("No device of the group can take this image: nothing was started.")
    return _page(
        request, staff, status_code=error.status if error else 422, error=message,
        errors=errors, values=values,
    )  # fmt: skip


def _one(
    request: Request, staff: Staff, rollout_id: uuid.UUID
) -> tuple[RolloutView, list[FailureCount]]:
    def work(session: Session, actor: str) -> tuple[RolloutView, list[FailureCount]]:
        return rollout_view(session, rollout_id), failure_breakdown(session, rollout_id)

    return must(act(request, staff, StaffAction.MANAGE_FLEET, work))


@router.get("/console/rollouts/{rollout_id}", response_class=HTMLResponse)
def rollout_page(
    request: Request, rollout_id: uuid.UUID, staff: PageStaff, error: str = ""
) -> HTMLResponse:
    """One rollout: plan, live progress, waves, failures and its verbs."""
    view, failures = _one(request, staff, rollout_id)
    refused = _("This cannot be done in the rollout's state now.") if error else None
    return render(
        request,
        "console/rollout.html",
        rollout=view,
        failures=failures,
        states=STATES,
        error=refused,
    )


@router.get("/console/rollouts/{rollout_id}/progress", response_class=HTMLResponse)
def progress(request: Request, rollout_id: uuid.UUID, staff: PageStaff) -> HTMLResponse:
    """The live part of the rollout's page (what htmx polls)."""
    view, failures = _one(request, staff, rollout_id)
    return render(
        request,
        "console/_rollout_progress.html",
        rollout=view,
        failures=failures,
        states=STATES,
    )


@router.post("/console/rollouts/{rollout_id}/{verb}", response_class=HTMLResponse)
def verb(
    request: Request, rollout_id: uuid.UUID, verb: str, staff: PageStaff, form: Form
) -> Response:
    """Start, pause, resume or abort the rollout."""
    if verb not in VERBS:
        return RedirectResponse(f"/console/rollouts/{rollout_id}", 303)
    clock = services_of(request).runtime.clock
    action = getattr(fleet_rollouts, f"{verb}_rollout")

    def work(session: Session, actor: str) -> None:
        action(session, rollout_id, actor=actor, clock=clock)

    outcome = act(request, staff, StaffAction.MANAGE_FLEET, work)
    if outcome.ok:
        return RedirectResponse(f"/console/rollouts/{rollout_id}?done=rollout_{verb}", 303)
    if isinstance(outcome.error, ConflictError):
        return RedirectResponse(f"/console/rollouts/{rollout_id}?error=state", 303)
    if isinstance(outcome.error, DoorstepError):
        raise outcome.error
    return RedirectResponse(f"/console/rollouts/{rollout_id}", 303)
