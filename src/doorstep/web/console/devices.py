"""The console's device look-up: a device's registration record, read as support reads it.

* ``GET /console/devices`` — a form for a device's inventory id (a UUID; a GET
  form, so ``?device_id=`` is sent on to the device's page, or the form says
  what is wrong with it).
* ``GET /console/devices/{device_id}`` — what the inventory says about the unit
  (not personal: product type, online state, when it was provisioned or
  anonymised) and its registration record, element by element, each read
  through :func:`doorstep.staff.services.staff_read` for ``customer.support``
  with the device's owner as the subject.  ``staff_read`` checks the role
  (:mod:`doorstep.staff.permissions`), then the purpose gate (the owner's
  restrictions), and audits every read and every refusal; an element it
  refuses is listed as not shown, with the reason, and never read.

The owner's id is looked up (:func:`doorstep.devices.access.owner_of`) only to
apply their choices to the reads, and is not shown.  A device bound to nobody
has no subject whose choices could be checked, so nothing of its record is
read.  PPPoE credentials are never read: no element of ``device_pppoe`` is
asked for.

The unit's tags (operators' labels, not personal) are listed with it, and the time zone
staff set for its maintenance windows (decision 0045): read through ``staff_read`` for
``device.maintenance`` while the device is bound (it says roughly where the owner
lives), shown as it is when the device is bound to nobody.  A staff
member who may run fleet operations (``manage_fleet``) also sees the
device's latest operations and the form that queues its firmware update
(:mod:`.firmware`), and the removals of owners' settings from it with the form that
marks it returned or resold (:mod:`.wipes`, decision 0042).  One who may run
diagnostics (``run_diagnostics``) sees the device's diagnostics and the form that runs
one on a ticket or with the owner's consent (:mod:`.diagnostics`, decision 0041).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from doorstep.core.errors import PurposeRefusedError
from doorstep.devices.access import owner_of
from doorstep.devices.fleet.tags import tags_of
from doorstep.devices.fleet.time_zones import PURPOSE as ZONE_PURPOSE
from doorstep.devices.fleet.time_zones import DeviceTimeZone
from doorstep.devices.models import Device, DeviceRegistration
from doorstep.privacy.purposes.gate import PurposeGate
from doorstep.staff._reader import Reader
from doorstep.staff.exceptions import StaffPermissionDeniedError
from doorstep.staff.services import staff_read
from doorstep.web.console.diagnostics import device_diagnostics
from doorstep.web.console.firmware import device_fleet
from doorstep.web.console.staff_work import must
from doorstep.web.console.wipes import device_section
from doorstep.web.i18n import _
from doorstep.web.session import PageStaff
from doorstep.web.templating import render
from doorstep.web.work import attempt, services_of

router = APIRouter(include_in_schema=False)
PURPOSE = "customer.support"
TABLE = DeviceRegistration.__tablename__
#: The registration record's elements, in the order the page lists them.
ELEMENTS: tuple[tuple[str, str], ...] = (
    ("model", _("Model")),
    ("firmware_version", _("Firmware version")),
    ("serial_number", _("Serial number")),
    ("mac_address", _("MAC address")),
    ("network_status", _("Internet interface")),
    ("ip_address", _("IP address")),
    ("endpoint_id", _("USP endpoint id")),
    ("registered_at", _("First registered")),
    ("refreshed_at", _("Record last read from the device")),
    ("last_seen", _("Last seen")),
    ("offline_since", _("Offline since")),
)
#: Why an element is not shown, by the refusal's reason code.
NOT_SHOWN: dict[str, str] = {
    "role_not_permitted": _("Not shown to your role."),
    "staff_inactive": _("Not shown: your staff account is not active."),
    "restricted": _("Not shown: the subscriber restricted this use of their data."),
    "unknown_subject": _("Not shown: the subscriber no longer exists."),
    "unbound": _("Not shown: the device is not bound to an account."),
    "policy_not_accepted": _(
        "Not shown: the policy version this subscriber accepted does not allow this use."
    ),
}


@dataclass(frozen=True, slots=True)
class Element:
    """One element of the record: its value (when read) or why it was not shown."""

    name: str
    label: str
    value: object = None
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceView:
    """The unit (not personal) and its registration record as this staff member may see it."""

    device_id: uuid.UUID
    provisioned_at: datetime
    registered: bool
    bound: bool
    product_type: str | None
    online: bool | None
    anonymised_at: datetime | None
    elements: tuple[Element, ...]
    missing_fields: tuple[str, ...] = ()
    """Registration fields the device does not provide (names only, not personal)."""
    time_zone: Element | None = None
    """The zone staff set for its maintenance windows (None: it has none)."""


def _reader(device_id: uuid.UUID, column: str) -> Reader:
    """A ``staff_read`` reader of one column of this device's record."""

    def read(
        session: Session, metadata: sa.MetaData, element: str, subject_id: uuid.UUID
    ) -> tuple[object, ...]:
        value = session.scalar(
            sa.select(getattr(DeviceRegistration, column)).where(
                DeviceRegistration.device_id == device_id
            )
        )
        return (value,)

    return read


def _zone(
    session: Session,
    staff_id: uuid.UUID,
    device_id: uuid.UUID,
    owner: uuid.UUID | None,
    gate: PurposeGate,
) -> Element | None:
    """The device's own time zone as this staff member may see it (None: it has none)."""
    column = DeviceTimeZone.time_zone
    query = sa.select(column).where(DeviceTimeZone.device_id == device_id)
    if not session.scalar(sa.select(query.exists())):
        return None
    label = _("Time zone of its maintenance windows")
    if owner is None:  # bound to nobody: a setting of a unit in stock, nobody's data
        return Element("time_zone", label, value=session.scalar(query))
    try:
        found = staff_read(
            session,
            staff_id,
            owner,
            "device_time_zones.time_zone",
            ZONE_PURPOSE,
            gate=gate,
            reader=lambda read_session, *_: (read_session.scalar(query),),
        )
    except (StaffPermissionDeniedError, PurposeRefusedError) as exc:  # audited by the callee
        return Element("time_zone", label, refused=str(exc.fields.get("reason")))
    return Element("time_zone", label, value=found.values[0] if found.values else None)


def look_up(
    session: Session, staff_id: uuid.UUID, device_id: uuid.UUID, *, gate: PurposeGate
) -> DeviceView | None:
    """The device as ``staff_id`` may see it, or None when no unit has this id."""
    device = session.get(Device, device_id)
    if device is None:
        return None
    # Only the record's columns that are not personal data are read here.
    registration = session.execute(
        sa.select(
            DeviceRegistration.product_type,
            DeviceRegistration.online,
            DeviceRegistration.anonymised_at,
            DeviceRegistration.missing_fields,
        ).where(DeviceRegistration.device_id == device_id)
    ).one_or_none()
    owner = owner_of(session, device_id)
    elements = []
    for column, label in ELEMENTS:
        if registration is None:
            break
        if owner is None:
            elements.append(Element(column, label, refused="unbound"))
            continue
        try:
            found = staff_read(
                session,
                staff_id,
                owner,
                f"{TABLE}.{column}",
                PURPOSE,
                gate=gate,
                reader=_reader(device_id, column),
            )
        except StaffPermissionDeniedError as exc:  # audited by staff_read
            elements.append(Element(column, label, refused=str(exc.fields.get("reason"))))
            continue
        except PurposeRefusedError as exc:  # audited by the gate
            elements.append(Element(column, label, refused=str(exc.fields.get("reason"))))
            continue
        elements.append(Element(column, label, value=found.values[0] if found.values else None))
    return DeviceView(
        device_id=device.id,
        provisioned_at=device.provisioned_at,
        registered=registration is not None,
        bound=owner is not None,
        product_type=registration.product_type.value
        if registration is not None and registration.product_type is not None
        else None,
        online=registration.online if registration is not None else None,
        anonymised_at=registration.anonymised_at if registration is not None else None,
        elements=tuple(elements),
        missing_fields=tuple(registration.missing_fields or ()) if registration is not None else (),
        time_zone=_zone(session, staff_id, device_id, owner, gate),
    )


@router.get("/console/devices", response_class=HTMLResponse)
def lookup_page(request: Request, staff: PageStaff, device_id: str = "") -> Response:
    """The look-up form; a valid id goes on to the device's page."""
    if not device_id:
        return render(request, "console/devices.html", device_id="", error=None)
    try:
        found = uuid.UUID(device_id.strip())
    except ValueError:
        return render(
            request,
            "console/devices.html",
            status_code=422,
            device_id=device_id,
            error=_("Enter a device id like 0f8fad5b-d9cb-469f-a165-70867728950e."),
        )
    return RedirectResponse(f"/console/devices/{found}", status_code=303)


@router.get("/console/devices/{device_id}", response_class=HTMLResponse)
def device_page(request: Request, device_id: uuid.UUID, staff: PageStaff) -> HTMLResponse:
    """The device's record, each element read through ``staff_read`` or marked not shown."""
    gate = services_of(request).gate
    found = must(attempt(request, lambda session: look_up(session, staff.id, device_id, gate=gate)))
    if found is None:
        return render(
            request,
            "console/devices.html",
            status_code=404,
            device_id=str(device_id),
            error=_("No device of the inventory has this id."),
        )
    fleet = must(attempt(request, lambda session: device_fleet(session, staff, device_id)))
    refused = request.query_params.get("diagnostic_refused", "")
    diagnostics = must(
        attempt(
            request,
            lambda session: device_diagnostics(session, staff, device_id, gate, refused),
        )
    )
    tags = must(attempt(request, lambda session: tags_of(session, [device_id])[device_id]))
    wipes = must(attempt(request, lambda session: device_section(session, staff, device_id)))
    return render(
        request,
        "console/device.html",
        device=found,
        not_shown=NOT_SHOWN,
        fleet=fleet,
        tags=tags,
        wipes=wipes,
        diagnostics=diagnostics,
    )
