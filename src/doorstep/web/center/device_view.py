"""What the "My devices" pages show, loaded through the devices services, and their messages.

Private helpers of :mod:`doorstep.web.center.devices`:

* :func:`device_uuid` reads a device id from a path (anything else is a 404, as
  for a device that is not the subscriber's);
* :func:`load_list` and :func:`load_device` read the subscriber's devices through
  :func:`doorstep.devices.page.list_devices` (gated and audited there) and, for one
  device, whether PPPoE credentials are stored and since when, through
  :func:`doorstep.devices.pppoe.pppoe_set_at` (which decrypts nothing);
* :func:`load_live` asks the device for its connected terminals now
  (:func:`doorstep.devices.live.live_status`); the list exists only in the
  returned :class:`LiveView` and the page rendered from it (CPE-I.iii.R6);
* :func:`problem_of` turns a service error into what the page says: a
  translatable sentence, the field messages and the HTTP status.  Messages name
  no personal data (no code, name, address or password) and no value typed.

Each load runs in a transaction of its own (:func:`doorstep.web.work.attempt`);
an error is raised for the page machinery to answer (404 page, etc.), except
where the page can go on without the part that failed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar, cast

from fastapi import Request
from sqlalchemy.orm import Session

from doorstep.core.errors import DoorstepError
from doorstep.devices import live, page, pppoe
from doorstep.devices.binding import CAMERA_PURPOSE
from doorstep.devices.exceptions import DeviceNotFoundError
from doorstep.devices.mount import device_link
from doorstep.devices.page import DeviceSummary
from doorstep.privacy.consent.services import is_enabled
from doorstep.web.i18n import _
from doorstep.web.work import Outcome, attempt, attempt_async, services_of

T = TypeVar("T")


def device_uuid(text: str) -> uuid.UUID:
    """The device id of a path segment; DeviceNotFoundError (404) for anything else."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise DeviceNotFoundError("no such device is bound to your account") from None


@dataclass(frozen=True, slots=True)
class DeviceList:
    """The list page: my devices, and whether the camera may be used to bind one."""

    devices: list[DeviceSummary]
    camera: bool


@dataclass(frozen=True, slots=True)
class DeviceView:
    """The device page's stored facts: the registration record and the PPPoE state."""

    device: DeviceSummary
    pppoe_set: bool | None  # None: it could not be read (the page says so)
    pppoe_set_at: datetime | None


@dataclass(frozen=True, slots=True)
class LiveView:
    """The connected terminals the device reported just now, or why there are none."""

    read_at: datetime
    terminals: list[live.Terminal] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """What a page says about a failed change: a sentence, field messages, a status."""

    message: str
    status: int
    fields: dict[str, str] = field(default_factory=dict)
    usp_code: int | None = None
    retry_minutes: int | None = None
    attempts_left: int | None = None
    applied: tuple[str, ...] = ()
    """Parameters the device did apply (a Set it accepted in part)."""
    not_applied: tuple[str, ...] = ()
    """Parameters the device refused."""


def load_list(request: Request, subject_id: uuid.UUID) -> DeviceList:
    """The subscriber's devices and their camera consent (raises the service's error)."""
    gate = services_of(request).gate

    def work(session: Session) -> DeviceList:
        return DeviceList(
            page.list_devices(session, gate, subject_id),
            is_enabled(session, subject_id, CAMERA_PURPOSE, terms=gate.terms),
        )

    return _value(attempt(request, work))


def load_device(request: Request, subject_id: uuid.UUID, device_id: uuid.UUID) -> DeviceView:
    """One of the subscriber's devices; DeviceNotFoundError when it is not theirs."""
    services = services_of(request)

    def summary(session: Session) -> DeviceSummary | None:
        found = page.list_devices(session, services.gate, subject_id)
        return next((item for item in found if item.device_id == device_id), None)

    device = _value(attempt(request, summary))
    if device is None:  # raised here, so the listing's audit record stays
        raise DeviceNotFoundError("no such device is bound to your account")
    stored = attempt(
        request,
        lambda session: pppoe.pppoe_set_at(
            session, services.gate, subject_id=subject_id, device_id=device_id
        ),
    )
    if not stored.ok:
        return DeviceView(device, None, None)
    return DeviceView(device, stored.value is not None, stored.value)


async def load_live(request: Request, subject_id: uuid.UUID, device_id: uuid.UUID) -> LiveView:
    """Ask the device for its connected terminals now; an unreachable device is a message.

    DeviceNotFoundError (not the subscriber's device) is raised for the 404 page.
    """
    services = services_of(request)
    link = device_link(request)
    now = services.runtime.clock.now()
    outcome = await attempt_async(
        request,
        lambda session: live.live_status(
            session, services.gate, link, subject_id=subject_id, device_id=device_id
        ),
    )
    if outcome.value is not None:
        return LiveView(now, outcome.value.terminals)
    error = outcome.error
    if isinstance(error, DeviceNotFoundError) or error is None:
        raise error or DeviceNotFoundError("no such device is bound to your account")
    return LiveView(now, error=problem_of(error).message)


def _value(outcome: Outcome[T]) -> T:
    """The work's value (None only where the work returns None); its error is raised."""
    if outcome.error is not None:
        raise outcome.error
    return cast(T, outcome.value)


#: What the pages say for each error code of the devices services.
MESSAGES: dict[str, str] = {
    "device-offline": _(
        "The device is not connected right now. Check that it is switched on and "
        "connected to the Internet, then try again."
    ),
    "usp-transport-unavailable": _(
        "We cannot reach devices right now. Nothing was changed; please try again later."
    ),
    "device-timeout": _(
        "The device did not answer in time. Nothing was stored; try again in a moment."
    ),
    "device-refused": _("The device refused the change. Nothing was stored."),
    "device-partly-applied": _(
        "The device applied only part of the change. Nothing was stored; see below what "
        "it did and did not apply."
    ),
    "device-function-unsupported": _("This device does not offer this function."),
    "field-not-allowed-for-product-type": _("This function is not available for this device."),
    "purpose-refused": _(
        "This use of your data is switched off for your account, so it cannot be done."
    ),
    "invalid-input": _("Please correct what is marked below."),
    "claim-rejected": _(
        "This code does not match a device. Check the label on the device and type it again."
    ),
    "claim-locked": _("Too many wrong codes. Adding a device is locked for a while."),
    "device-already-bound": _(
        "This device belongs to another account. It must be removed from that account first."
    ),
}
CODE_RULE = "20 base32 characters"
QR_RULE = "DOORSTEP1:<endpoint id>:<claim code>"
#: What a form field says for each rule the devices services name.
RULES: dict[str, str] = {
    CODE_RULE: _(
        "The code has 20 letters and digits, in groups of five, like ABCDE-FGHIJ-KLMNO-PQRST."
    ),
    QR_RULE: _("This is not the QR code of a Doorstep device."),
    "1 to 64 printable ASCII characters": _(
        "Use 1 to 64 characters: letters, digits, spaces and symbols without accents."
    ),
    "1 to 32 bytes, printable": _("Use 1 to 32 characters (accented letters count double)."),
    "8 to 63 printable ASCII characters": _(
        "Use 8 to 63 characters: letters, digits, spaces and symbols without accents."
    ),
}
REQUIRED = _("This field is required.")
SOMETHING = _("Something went wrong. Please try again.")


def problem_of(error: DoorstepError) -> Problem:
    """What the page says about ``error`` (see :data:`MESSAGES` and :data:`RULES`)."""
    fields: dict[str, str] = {}
    for item in error.fields.get("errors") or ():
        if isinstance(item, dict) and "field" in item:
            fields[str(item["field"])] = RULES.get(str(item.get("rule", "")), SOMETHING)
    message = MESSAGES.get(error.code)
    if message is None:
        message = MESSAGES["invalid-input"] if fields else SOMETHING
    retry = error.fields.get("retry_after")
    left = error.fields.get("attempts_left")
    usp_code = error.fields.get("usp_code")
    return Problem(
        message=message,
        status=error.status,
        fields=fields,
        usp_code=int(usp_code) if isinstance(usp_code, int) else None,
        retry_minutes=max(1, -(-int(retry) // 60)) if isinstance(retry, int | float) else None,
        attempts_left=int(left) if isinstance(left, int) else None,
        applied=tuple(str(name) for name in error.fields.get("applied") or ()),
        not_applied=tuple(
            str(item.get("param", ""))
            for item in error.fields.get("not_applied") or ()
            if isinstance(item, dict)
        ),
    )
