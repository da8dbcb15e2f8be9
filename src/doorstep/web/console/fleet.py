"""The console's fleet: the device list with filters and pages, tags, and device groups.

* ``GET /console/fleet`` — the filter form (model, firmware exact or range, product,
  online state, tag, or a group) and one page of matching devices in id order; the
  "Next page" link carries the last id (keyset, never an offset); the first page
  counts the matches up to 1,000.  A row shows id, model, firmware, product, state
  and tags, and links to the device's technical view (``/console/devices/{id}``,
  where registration fields are read one by one through ``staff_read``).
* ``POST /console/fleet/tags`` — add or remove a tag on the devices ticked.
* ``GET /console/groups``, ``POST /console/groups`` (also "save this filter as a
  group" from the list), ``POST /console/groups/{id}/delete``.

Every page needs ``manage_fleet`` (support, admin; :mod:`doorstep.staff.permissions`):
any other role gets the 403 page and ``require_action`` has recorded the refusal.
Model and firmware are shown only to a role that may read them for
``device.maintenance`` (support) and never for a device whose owner restricted that
purpose (:mod:`doorstep.devices.fleet.listing`); admin sees "withheld".
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from doorstep.core.errors import InvalidInputError
from doorstep.devices.fleet import groups as fleet_groups
from doorstep.devices.fleet.filters import DeviceFilter
from doorstep.devices.fleet.listing import ELEMENTS, PURPOSE, FleetPage, fleet_page
from doorstep.devices.fleet.tags import known_tags, tag_devices, untag_devices
from doorstep.staff.permissions import StaffAction, may_read
from doorstep.staff.services import Staff
from doorstep.web.console.staff_work import Form, act, must, text
from doorstep.web.i18n import _
from doorstep.web.session import PageStaff
from doorstep.web.templating import DONE, render
from doorstep.web.work import services_of

router = APIRouter(include_in_schema=False)
FILTER_FIELDS = ("model", "firmware", "firmware_min", "firmware_below", "product_type")

DONE.update(
    {
        "tagged": _("The tag is set on the devices you ticked."),
        "untagged": _("The tag is removed from the devices you ticked."),
        "group_created": _("The group is saved."),
        "group_deleted": _("The group is deleted; bulk actions made from it keep their filter."),
    }
)
#: What a filter field says for a rule of :class:`~doorstep.devices.fleet.filters.DeviceFilter`.
RULES: dict[str, str] = {
    "length": _("Use 1 to 100 characters."),
    "printable": _("Use printable characters only."),
    "version": _("A version needs at least one number, like 2.1."),
    "empty_range": _("The upper bound must be above the lower one."),
    "exact_or_range": _("Give an exact version or a range, not both."),
    "product_type": _("Choose router or gateway."),
    "tag": _("A tag is 1 to 40 of a-z, 0-9, _ . - (and not an address)."),
    "group_name": _("Give the group a name of 1 to 80 characters."),
}


def _raw_filter(values: dict[str, str]) -> dict[str, Any]:
    raw: dict[str, Any] = {key: values[key] for key in FILTER_FIELDS if values.get(key)}
    if values.get("state") in ("online", "offline"):
        raw["online"] = values["state"] == "online"
    if values.get("tag"):
        raw["tags"] = [values["tag"]]
    return raw


def _errors(exc: InvalidInputError) -> dict[str, str]:
    found = {}
    for item in exc.fields.get("errors") or ():
        field = "tag" if item.get("field") == "tags" else str(item.get("field"))
        found[field] = RULES.get(str(item.get("rule")), _("This is not valid."))
    return found


def _may_read_values(request: Request, staff: Staff) -> bool:
    declarations = services_of(request).gate.declarations
    return all(
        element in declarations and may_read(staff.role, declarations[element], PURPOSE)
        for element in ELEMENTS
    )


@router.get("/console/fleet", response_class=HTMLResponse)
def fleet(request: Request, staff: PageStaff) -> HTMLResponse:
    """The fleet list: filters, one page of devices, the next page's link."""
    params = request.query_params
    values = {
        key: (params.get(key) or "").strip()
        for key in (*FILTER_FIELDS, "state", "tag", "group", "after")
    }
    errors: dict[str, str] = {}
    try:
        found = DeviceFilter.parse(_raw_filter(values))
    except InvalidInputError as exc:
        errors, found = _errors(exc), None
    after = _uuid(values["after"])
    group_id = _uuid(values["group"])
    gate = services_of(request).gate
    readable = _may_read_values(request, staff)

    def work(session: Session, actor: str) -> tuple[FleetPage | None, list[Any], list[Any]]:
        groups = fleet_groups.list_groups(session)
        chosen = found
        if group_id is not None:
            chosen = fleet_groups.get_group(session, group_id).filter
        page = None
        if chosen is not None:
            page = fleet_page(
                session,
                gate,
                chosen,
                actor=actor,
                after=after,
                may_read=readable,
                count=after is None,
            )
        return page, groups, known_tags(session)

    page, groups, tags = must(act(request, staff, StaffAction.MANAGE_FLEET, work))
    query = {k: v for k, v in values.items() if v and k != "after"}
    next_link = None
    if page is not None and page.next_after is not None:
        next_link = "/console/fleet?" + urlencode({**query, "after": str(page.next_after)})
    return render(
        request,
        "console/fleet.html",
        status_code=422 if errors else 200,
        page=page,
        values=values,
        errors=errors,
        groups=groups,
        tags=tags,
        next_link=next_link,
        first_link="/console/fleet?" + urlencode(query) if after else None,
        back="/console/fleet?" + urlencode({**query, **({"after": str(after)} if after else {})}),
        filter_json=json.dumps(found.to_json()) if found is not None else "{}",
    )


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _back(form_value: str) -> str:
    return form_value if form_value.startswith("/console/fleet") else "/console/fleet"


@router.post("/console/fleet/tags", response_class=HTMLResponse)
def tags(request: Request, staff: PageStaff, form: Form) -> Response:
    """Add (``do=add``) or remove (``do=remove``) a tag on the devices ticked."""
    clock = services_of(request).runtime.clock
    chosen = [found for value in form.getlist("device") if (found := _uuid(str(value)))]
    tag, adding = text(form, "tag"), text(form, "do") != "remove"

    def work(session: Session, actor: str) -> None:
        if adding:
            tag_devices(session, chosen, tag, actor=actor, clock=clock)
        else:
            untag_devices(session, chosen, tag, actor=actor)

    outcome = act(request, staff, StaffAction.MANAGE_FLEET, work)
    back = _back(text(form, "back"))
    if not outcome.ok:
        error = outcome.error
        message = _("Tick at least one device.") if not chosen else RULES["tag"]
        if error is not None and not isinstance(error, InvalidInputError):
            raise error
        return render(request, "console/error.html", status_code=422, status=422, message=message)
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}done={'tagged' if adding else 'untagged'}", 303)


def _groups_page(
    request: Request,
    staff: Staff,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    def work(session: Session, actor: str) -> list[tuple[fleet_groups.Group, int]]:
        return [
            (group, fleet_groups.count_members(session, group.filter))
            for group in fleet_groups.list_groups(session)
        ]

    rows = must(act(request, staff, StaffAction.MANAGE_FLEET, work))
    return render(
        request,
        "console/groups.html",
        status_code=status_code,
        rows=rows,
        cap=fleet_groups.COUNT_CAP,
        errors=errors or {},
        values=values or {},
    )


@router.get("/console/groups", response_class=HTMLResponse)
def groups(request: Request, staff: PageStaff) -> HTMLResponse:
    """The groups, how many devices each matches, and the form that saves one."""
    return _groups_page(request, staff)


@router.post("/console/groups", response_class=HTMLResponse)
def create_group(request: Request, staff: PageStaff, form: Form) -> Response:
    """Save a group: a name and either the filter fields or a filter carried from the list."""
    clock = services_of(request).runtime.clock
    values = {key: text(form, key) for key in (*FILTER_FIELDS, "state", "tag", "name")}
    carried = text(form, "filter_json")
    try:
        raw = json.loads(carried) if carried else _raw_filter(values)
    except json.JSONDecodeError:
        raw = {"filter": "not json"}

    def work(session: Session, actor: str) -> uuid.UUID:
        return fleet_groups.create_group(session, values["name"], raw, actor=actor, clock=clock).id

    outcome = act(request, staff, StaffAction.MANAGE_FLEET, work)
    if outcome.ok:
        return RedirectResponse("/console/groups?done=group_created", status_code=303)
    error = outcome.error
    errors = _errors(error) if isinstance(error, InvalidInputError) else {}
    if error is not None and not isinstance(error, InvalidInputError):
        errors["name"] = _("A group has this name already.")
    return _groups_page(
        request, staff, status_code=error.status if error else 422, errors=errors, values=values
    )


@router.post("/console/groups/{group_id}/delete", response_class=HTMLResponse)
def delete_group(request: Request, group_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Delete a group."""

    def work(session: Session, actor: str) -> None:
        fleet_groups.delete_group(session, group_id, actor=actor)

    must(act(request, staff, StaffAction.MANAGE_FLEET, work))
    return RedirectResponse("/console/groups?done=group_deleted", status_code=303)
