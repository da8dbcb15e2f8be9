"""The subscriber's view of the removals of their settings from routers (decision 0042).

* ``GET /api/v1/devices/wipes`` — my removals, newest first: the device, what
  triggered it, its state and each part (``pppoe``, ``wifi``, ``hosts``), the
  router's code when it refused, times;
* ``GET /api/v1/devices/wipes/{wipe_id}`` — one of them (404 for anyone else's).

A removal is asked for with ``DELETE /api/v1/devices/{id}/binding?wipe_settings=true``
(:mod:`doorstep.devices.api`, answered 202 with :class:`WipeOut`); the device is no
longer the subscriber's then, so these routes look removals up by the subject they
name, not by the device.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from doorstep.accounts.auth import CurrentSubscriber
from doorstep.core.errors import NotFoundError
from doorstep.core.problems import problem_responses
from doorstep.devices.fleet.wipe_models import DeviceWipe
from doorstep.devices.fleet.wipes import my_wipes
from doorstep.services import ServicesDep, SessionDep

router = APIRouter(prefix="/api/v1/devices/wipes", tags=["devices"])

Outcome = Literal["pending", "done", "not_supported", "refused", "not_confirmed"]


class WipeParts(BaseModel):
    """What happened to each part of the settings on the router."""

    pppoe: Outcome = Field(description="PPPoE account and password.")
    wifi: Outcome = Field(description="Wi-Fi network name and password.")
    hosts: Outcome = Field(description="The router's list of connected devices (host table).")


class WipeOut(BaseModel):
    """One removal of my settings from a router."""

    wipe_id: uuid.UUID
    device_id: uuid.UUID
    trigger: Literal["unbind", "returned", "resold"]
    mode: Literal["parameters", "factory_reset"]
    state: Literal["pending", "succeeded", "failed"] = Field(
        description="pending: the router is cleared the next time it is online."
    )
    parts: WipeParts
    reason: str | None = Field(
        default=None, description="Why it failed: unreachable, device_timeout, device_error …"
    )
    usp_code: int | None = Field(default=None, description="The router's own USP error code.")
    requested_at: datetime
    finished_at: datetime | None


class WipeList(BaseModel):
    """My removals, newest first."""

    wipes: list[WipeOut]


def wipe_out(wipe: DeviceWipe) -> WipeOut:
    """The API's view of a removal."""
    parts = dict(wipe.parts or {})
    return WipeOut(
        wipe_id=wipe.id,
        device_id=wipe.device_id,
        trigger=wipe.trigger.value,
        mode=wipe.mode.value,
        state=wipe.state.value,
        parts=WipeParts.model_validate(
            {name: parts.get(name, "pending") for name in WipeParts.model_fields}
        ),
        reason=wipe.reason,
        usp_code=wipe.usp_code,
        requested_at=wipe.requested_at,
        finished_at=wipe.finished_at,
    )


@router.get("", summary="Removals of my settings from routers")
def list_wipes(
    subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> WipeList:
    """Where the removal of my settings from each router I gave up stands."""
    found = my_wipes(session, services.gate, subscriber.subject_id)
    return WipeList(wipes=[wipe_out(w) for w in found])


@router.get(
    "/{wipe_id}",
    summary="One removal of my settings from a router",
    responses=problem_responses(404),
)
def read_wipe(
    wipe_id: uuid.UUID, subscriber: CurrentSubscriber, services: ServicesDep, session: SessionDep
) -> WipeOut:
    """One removal of mine (404 for any other)."""
    found = my_wipes(session, services.gate, subscriber.subject_id, wipe_id)
    if not found:
        raise NotFoundError("no such removal of your settings")
    return wipe_out(found[0])
