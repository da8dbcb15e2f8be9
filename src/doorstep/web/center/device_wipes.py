"""The privacy center's words and reads for removing a subscriber's settings from routers.

* :func:`load_wipes` — the subscriber's removals (decision 0042), read through the
  purpose gate by :func:`doorstep.devices.fleet.wipes.my_wipes`, as rows the "My
  devices" page lists under the devices still bound: when, what triggered it, where
  it stands, and each part in words.
* :data:`STATES`, :data:`PARTS`, :data:`OUTCOMES`, :data:`TRIGGERS` — the labels
  (message ids, translated by the template).

Contract: ids, codes and instants only; a device no longer bound is named by the
first characters of its id, since its record is not the subscriber's any more.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request

from doorstep.devices.fleet.wipes import my_wipes
from doorstep.web.i18n import _
from doorstep.web.work import attempt, services_of

STATES = {
    "pending": _("Waiting for the device to connect"),
    "succeeded": _("Done"),
    "failed": _("Could not be done"),
}
TRIGGERS = {
    "unbind": _("You removed the device"),
    "returned": _("The device was returned"),
    "resold": _("The device was resold"),
}
PARTS = {
    "pppoe": _("Internet access account and password"),
    "wifi": _("Wi-Fi name and password"),
    "hosts": _("List of connected devices"),
}
OUTCOMES = {
    "pending": _("not yet"),
    "done": _("removed"),
    "not_supported": _("its model does not allow it"),
    "refused": _("the device refused"),
    "not_confirmed": _("not confirmed by the device"),
}
REASONS = {
    "unreachable": _("The device did not connect in time."),
    "device_timeout": _("The device did not come back in time."),
}


@dataclass(frozen=True, slots=True)
class WipeRow:
    """One removal as the page lists it."""

    reference: str
    trigger: str
    state: str
    parts: tuple[tuple[str, str], ...]
    reason: str | None
    requested_at: datetime
    finished_at: datetime | None


def load_wipes(request: Request, subject_id: uuid.UUID) -> list[WipeRow]:
    """The subscriber's removals, newest first (empty when the read fails)."""
    gate = services_of(request).gate
    outcome = attempt(request, lambda session: my_wipes(session, gate, subject_id))
    return [
        WipeRow(
            reference=wipe.device_id.hex[:8],
            trigger=TRIGGERS.get(wipe.trigger.value, wipe.trigger.value),
            state=wipe.state.value,
            parts=tuple(
                (label, OUTCOMES.get(str(wipe.parts.get(part)), str(wipe.parts.get(part))))
                for part, label in PARTS.items()
            ),
            reason=REASONS.get(wipe.reason or "") if wipe.reason else None,
            requested_at=wipe.requested_at,
            finished_at=wipe.finished_at,
        )
        for wipe in outcome.value or ()
    ]
