"""Bodies of the fleet API's bulk actions: the action asked for, its counts, per-device results.

An action is asked for as the command line asks for it (decision 0040): a kind, a
target (a group, or a filter; the whole fleet only with ``all_devices``, never by
default), the kind's own arguments and the throttle.  The body refuses an argument of
another kind (a reboot carries no parameters).  The rules of the arguments are
:func:`~doorstep.devices.fleet.bulk_args.check_args`'s: a parameter path outside the
pack's ``bulk_parameters:`` allow-list (a PPPoE, Wi-Fi or Hosts path) is a 422 problem
``bulk-parameter-refused`` naming the path, never the value, and nothing is stored or
queued.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from doorstep.devices.fleet.bulk import MAX_IN_FLIGHT, MAX_PER_MINUTE, BulkView, DeviceResult
from doorstep.devices.fleet.bulk_args import MAX_PARAMETERS
from doorstep.fleet_api.schemas import FleetFilter, OperationStateName

BulkKind = Literal["reboot", "set_parameters", "diagnostic", "firmware_update"]
#: The arguments each kind takes (any other argument given is refused).
ARGUMENTS: dict[str, frozenset[str]] = {
    "reboot": frozenset(),
    "set_parameters": frozenset({"parameters"}),
    "diagnostic": frozenset({"test", "host"}),
    "firmware_update": frozenset({"image_id"}),
}


class FleetBulkIn(BaseModel):
    """A bulk action on a group or a filter, throttled."""

    model_config = ConfigDict(extra="forbid")
    kind: BulkKind = Field(
        description="reboot, set_parameters and firmware_update run under device.maintenance, "
        "diagnostic under device.diagnostics."
    )
    group_id: uuid.UUID | None = Field(default=None, description="Target: a device group.")
    filter: FleetFilter | None = Field(default=None, description="Target: a fleet filter.")
    all_devices: bool = Field(
        default=False, description="Target the whole fleet (say it explicitly)."
    )
    parameters: dict[str, str | int | bool] | None = Field(
        default=None,
        max_length=MAX_PARAMETERS,
        description="set_parameters: path -> value, paths of the pack's bulk_parameters only.",
    )
    image_id: uuid.UUID | None = Field(default=None, description="firmware_update: the image.")
    test: str | None = Field(
        default=None, description="diagnostic: ping, traceroute, download or upload."
    )
    host: str | None = Field(default=None, description="diagnostic: the operator's test server.")
    max_in_flight: int = Field(default=50, ge=1, le=MAX_IN_FLIGHT, description="Open at once.")
    per_minute: int = Field(default=100, ge=1, le=MAX_PER_MINUTE, description="Queued a minute.")

    @model_validator(mode="after")
    def _arguments_of_the_kind(self) -> FleetBulkIn:
        given = {name for name in ("parameters", "image_id", "test", "host") if getattr(self, name)}
        stray = sorted(given - ARGUMENTS[self.kind])
        if stray:
            raise ValueError(f"{self.kind} takes no {', '.join(stray)}")
        return self

    def args(self) -> dict[str, Any]:
        """The kind's arguments as the services check them."""
        found: dict[str, Any] = {}
        if self.parameters is not None:
            found["parameters"] = dict(self.parameters)
        if self.image_id is not None:
            found["image_id"] = str(self.image_id)
        if self.test is not None:
            found["test"] = self.test
        if self.host is not None:
            found["host"] = self.host
        return found


class FleetBulkOut(BaseModel):
    """A bulk action and its counts."""

    id: uuid.UUID
    kind: BulkKind
    args: dict[str, Any]
    group_id: uuid.UUID | None
    filter: FleetFilter = Field(description="Its own copy of the target's filter.")
    max_in_flight: int
    per_minute: int
    purpose: str
    actor: str
    state: Literal["running", "finished", "cancelled"]
    total: int = Field(description="Devices that matched when it started.")
    queued: int
    succeeded: int
    failed: int
    cancelled: int
    open: int = Field(description="Operations queued and not yet ended.")
    done: int = Field(description="Operations that ended.")
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, view: BulkView) -> FleetBulkOut:
        """The body of ``view``."""
        return cls.model_validate(
            {
                "id": view.id,
                "kind": view.kind.value,
                "args": dict(view.args),
                "group_id": view.group_id,
                "filter": FleetFilter.of(view.filter),
                "max_in_flight": view.max_in_flight,
                "per_minute": view.per_minute,
                "purpose": view.purpose,
                "actor": view.actor,
                "state": view.state.value,
                "total": view.total,
                "queued": view.queued,
                "succeeded": view.succeeded,
                "failed": view.failed,
                "cancelled": view.cancelled,
                "open": view.open,
                "done": view.done,
                "created_at": view.created_at,
                "finished_at": view.finished_at,
            }
        )


class FleetBulkList(BaseModel):
    """The latest bulk actions, newest first."""

    actions: list[FleetBulkOut]


class FleetBulkResult(BaseModel):
    """One device's operation of the action: where it stands, how it ended."""

    device_id: uuid.UUID
    state: OperationStateName
    reason: str | None = Field(description="A reason code (device_error, device_timeout …).")
    usp_code: int | None = Field(description="The device's own USP error code.")
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, result: DeviceResult) -> FleetBulkResult:
        """The body of ``result``."""
        return cls.model_validate(
            {
                "device_id": result.device_id,
                "state": result.state.value,
                "reason": result.reason,
                "usp_code": result.usp_code,
                "started_at": result.started_at,
                "finished_at": result.finished_at,
            }
        )


class FleetBulkResults(BaseModel):
    """One page of per-device results in device order, and where the next starts."""

    results: list[FleetBulkResult]
    next_after: uuid.UUID | None = Field(description="Pass as `after` for the next page.")
