"""The console's bulk actions: start one on a group, follow it, see each device's result.

* ``GET /console/bulk`` — the latest actions and the form that starts one: kind
  (reboot, set parameters, diagnostic, firmware update), group, its arguments
  (``PATH=VALUE`` lines for parameters, an image id, a test and a host) and throttle;
* ``POST /console/bulk`` — start it (:func:`doorstep.devices.fleet.bulk.start_bulk`); a
  parameter outside the pack's ``bulk_parameters:`` allow-list (a PPPoE, Wi-Fi or
  Hosts path) re-renders the form naming the path, with nothing stored or queued;
* ``GET /console/bulk/{id}`` — its progress (a ``<progress>`` bar that htmx refreshes
  every 3 seconds from the same page while it runs) and one page of per-device results
  (device, state, reason code, the device's own USP code), filtered by state, in
  device order with a "Next page" link (keyset);
* ``POST /console/bulk/{id}/cancel`` — stop it.

Every page needs ``manage_fleet``.  Results carry ids and codes only.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.devices.fleet import bulk as fleet_bulk
from doorstep.devices.fleet import groups as fleet_groups
from doorstep.devices.fleet.bulk_args import DIAGNOSTIC_TESTS, ParameterRefusedError
from doorstep.devices.fleet.operations import OperationKind, OperationState
from doorstep.staff.permissions import StaffAction
from doorstep.staff.services import Staff
from doorstep.web.console.staff_work import Form, act, must, text
from doorstep.web.i18n import _
from doorstep.web.session import PageStaff
from doorstep.web.templating import DONE, render
from doorstep.web.work import services_of

router = APIRouter(include_in_schema=False)
RESULTS_PAGE = 50
#: The kinds the form offers, with their labels.
KINDS: dict[str, str] = {
    OperationKind.REBOOT.value: _("Reboot"),
    OperationKind.SET_PARAMETERS.value: _("Set parameters"),
    OperationKind.DIAGNOSTIC.value: _("Run a diagnostic"),
    OperationKind.FIRMWARE_UPDATE.value: _("Update firmware"),
}
STATES: dict[str, str] = {
    "queued": _("Queued"),
    "running": _("Running"),
    "waiting": _("Waiting for the device"),
    "succeeded": _("Succeeded"),
    "failed": _("Failed"),
    "cancelled": _("Cancelled"),
}
DONE.update(
    {
        "bulk_started": _("The bulk action is running."),
        "bulk_cancelled": _(
            "The bulk action is cancelled: queued operations are dropped, running ones finish."
        ),
    }
)
FIELDS = ("kind", "group", "parameters", "image", "test", "host", "max_in_flight", "per_minute")


def _page(
    request: Request,
    staff: Staff,
    *,
    status_code: int = 200,
    error: str | None = None,
    refused_path: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    def work(session: Session, actor: str) -> tuple[list[Any], list[Any]]:
        return fleet_bulk.list_bulk(session), fleet_groups.list_groups(session)

    actions, groups = must(act(request, staff, StaffAction.MANAGE_FLEET, work))
    return render(
        request,
        "console/bulk_actions.html",
        status_code=status_code,
        actions=actions,
        groups=groups,
        kinds=KINDS,
        tests=DIAGNOSTIC_TESTS,
        error=error,
        refused_path=refused_path,
        errors=errors or {},
        values=values or {"max_in_flight": "50", "per_minute": "100"},
    )


@router.get("/console/bulk", response_class=HTMLResponse)
def bulk_actions(request: Request, staff: PageStaff) -> HTMLResponse:
    """The latest bulk actions and the form that starts one."""
    return _page(request, staff)


def _args(kind: str, values: dict[str, str]) -> dict[str, Any]:
    if kind == OperationKind.SET_PARAMETERS.value:
        pairs = [line.partition("=") for line in values["parameters"].splitlines() if line.strip()]
        return {"parameters": {path.strip(): value.strip() for path, _sep, value in pairs}}
    if kind == OperationKind.FIRMWARE_UPDATE.value:
        return {"image_id": values["image"]}
    if kind == OperationKind.DIAGNOSTIC.value:
        return {"test": values["test"], "host": values["host"]}
    return {}


def _number(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


@router.post("/console/bulk", response_class=HTMLResponse)
def start(request: Request, staff: PageStaff, form: Form) -> Response:
    """Start a bulk action on a group."""
    services = services_of(request)
    values = {name: text(form, name) for name in FIELDS}

    def work(session: Session, actor: str) -> uuid.UUID:
        try:
            kind = OperationKind(values["kind"])
            group_id = uuid.UUID(values["group"])
        except ValueError:
            raise InvalidInputError.of("group", "required", "choose a kind and a group") from None
        target = fleet_bulk.Target.of(fleet_groups.get_group(session, group_id))
        return fleet_bulk.start_bulk(
            session,
            kind,
            _args(kind.value, values),
            target,
            allowed=services.pack.bulk_parameters,
            max_in_flight=_number(values["max_in_flight"]),
            per_minute=_number(values["per_minute"]),
            actor=actor,
            clock=services.runtime.clock,
        ).id

    outcome = act(request, staff, StaffAction.MANAGE_FLEET, work)
    if outcome.ok:
        return RedirectResponse(f"/console/bulk/{outcome.value}?done=bulk_started", 303)
    error = outcome.error
    message = _("Please correct what is marked below.")
    errors: dict[str, str] = {}
    refused_path = None
    if isinstance(error, ParameterRefusedError):
        refused_path = error.path
        errors["parameters"] = _("Only parameters of the pack's bulk_parameters list.")
    elif isinstance(error, InvalidInputError):
        for item in error.fields.get("errors") or ():
            field = str(item.get("field"))
            errors[field if field in FIELDS else "parameters"] = _("This is not valid.")
    elif isinstance(error, NotFoundError):
        errors["group"] = _("No group has this id.")
    return _page(
        request,
        staff,
        status_code=422,
        error=None if refused_path else message,
        refused_path=refused_path,
        errors=errors,
        values=values,
    )


@router.get("/console/bulk/{bulk_id}", response_class=HTMLResponse)
def bulk_action(
    request: Request, bulk_id: uuid.UUID, staff: PageStaff, state: str = "", after: str = ""
) -> HTMLResponse:
    """One bulk action: progress, counts and one page of per-device results."""
    chosen = state if state in STATES else ""
    cursor: uuid.UUID | None = None
    try:
        cursor = uuid.UUID(after) if after else None
    except ValueError:
        cursor = None

    def work(session: Session, actor: str) -> tuple[Any, list[Any]]:
        view = fleet_bulk.get_bulk(session, bulk_id)
        results = fleet_bulk.bulk_results(
            session,
            bulk_id,
            after=cursor,
            state=OperationState(chosen) if chosen else None,
            limit=RESULTS_PAGE + 1,
        )
        return view, results

    view, results = must(act(request, staff, StaffAction.MANAGE_FLEET, work))
    more = len(results) > RESULTS_PAGE
    results = results[:RESULTS_PAGE]
    query = {"state": chosen} if chosen else {}
    next_link = None
    if more:
        after_id = str(results[-1].device_id)
        next_link = f"/console/bulk/{bulk_id}?" + urlencode({**query, "after": after_id})
    return render(
        request,
        "console/bulk_action.html",
        action=view,
        results=results,
        kinds=KINDS,
        states=STATES,
        state=chosen,
        next_link=next_link,
        first_link=f"/console/bulk/{bulk_id}?" + urlencode(query) if cursor else None,
    )


@router.post("/console/bulk/{bulk_id}/cancel", response_class=HTMLResponse)
def cancel(request: Request, bulk_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Stop a running bulk action."""
    clock = services_of(request).runtime.clock

    def work(session: Session, actor: str) -> None:
        fleet_bulk.cancel_bulk(session, bulk_id, actor=actor, clock=clock)

    outcome = act(request, staff, StaffAction.MANAGE_FLEET, work)
    if outcome.error is not None and not isinstance(outcome.error, ConflictError):
        raise outcome.error
    return RedirectResponse(f"/console/bulk/{bulk_id}?done=bulk_cancelled", status_code=303)
