"""Bulk actions for fleet staff: start one, follow it, read each device's result (decision 0040).

* ``GET …/bulk-actions`` — the latest actions, newest first;
* ``POST …/bulk-actions`` — start one (201): ``reboot``, ``set_parameters`` (only
  paths of the pack's ``bulk_parameters:``), ``diagnostic`` (a test against the
  operator's server) or ``firmware_update`` (a registered image), on a group, a
  filter, or the whole fleet with ``all_devices`` (never by default), throttled by
  ``max_in_flight`` and ``per_minute``; its first batch is queued in the same
  transaction (:func:`~doorstep.devices.fleet.bulk.start_bulk`).  A path outside the
  allow-list — a PPPoE, Wi-Fi or Hosts parameter — is a 422 problem of type
  ``bulk-parameter-refused`` naming the path (never the value); any other bad input a
  422 naming the field and rule, an unknown group a 404: nothing is stored or queued;
* ``GET …/bulk-actions/{id}`` — its counts;
* ``GET …/bulk-actions/{id}/results`` — one page of per-device results in device
  order (keyset ``after``), optionally of one state: the operation's state, reason
  code and the device's own USP error code;
* ``POST …/bulk-actions/{id}/cancel`` — stop it: queued operations are cancelled,
  those in flight end on their own; 409 when it is not running.

Starting, cancelling and finishing are audited by the services (ids and counts).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from doorstep.core.errors import InvalidInputError
from doorstep.core.problems import problem_responses
from doorstep.devices.fleet import bulk as fleet_bulk
from doorstep.devices.fleet import groups as fleet_groups
from doorstep.devices.fleet.filters import DeviceFilter
from doorstep.devices.fleet.operations import OperationKind, OperationState
from doorstep.fleet_api.access import FleetStaff
from doorstep.fleet_api.bulk_schemas import (
    FleetBulkIn,
    FleetBulkList,
    FleetBulkOut,
    FleetBulkResult,
    FleetBulkResults,
)
from doorstep.fleet_api.devices import After
from doorstep.fleet_api.schemas import OperationStateName
from doorstep.services import ServicesDep, SessionDep

router = APIRouter()
RESULTS_PAGE = 50


def _target(body: FleetBulkIn, session: Session) -> fleet_bulk.Target:
    """The devices the action names: a group, a filter, or the whole fleet said explicitly."""
    found = body.filter.parsed() if body.filter is not None else DeviceFilter()
    if body.group_id is not None and (not found.empty or body.all_devices):
        raise InvalidInputError.of(
            "target", "group_or_filter", "give either group_id or a filter (or all_devices)"
        )
    if body.group_id is not None:
        return fleet_bulk.Target.of(fleet_groups.get_group(session, body.group_id))
    if found.empty and not body.all_devices:
        raise InvalidInputError.of(
            "target", "required", "name the devices: group_id, a filter, or all_devices"
        )
    return fleet_bulk.Target(found)


@router.get("/bulk-actions", summary="Bulk actions, newest first")
def list_actions(
    acting: FleetStaff,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many.")] = 50,
) -> FleetBulkList:
    """The latest bulk actions with their counts."""
    return FleetBulkList(
        actions=[FleetBulkOut.of(view) for view in fleet_bulk.list_bulk(session, limit=limit)]
    )


@router.post(
    "/bulk-actions",
    status_code=status.HTTP_201_CREATED,
    summary="Start a bulk action",
    responses=problem_responses(404),  # no such group
)
def start_action(
    body: FleetBulkIn, acting: FleetStaff, services: ServicesDep, session: SessionDep
) -> FleetBulkOut:
    """Check the action, store it and queue its first throttled batch."""
    target = _target(body, session)
    view = fleet_bulk.start_bulk(
        session,
        OperationKind(body.kind),
        body.args(),
        target,
        allowed=services.pack.bulk_parameters,
        max_in_flight=body.max_in_flight,
        per_minute=body.per_minute,
        actor=acting.actor,
        clock=services.runtime.clock,
    )
    return FleetBulkOut.of(view)


@router.get("/bulk-actions/{bulk_id}", summary="One bulk action", responses=problem_responses(404))
def show_action(bulk_id: uuid.UUID, acting: FleetStaff, session: SessionDep) -> FleetBulkOut:
    """The action's counts: total, queued, succeeded, failed, cancelled, open."""
    return FleetBulkOut.of(fleet_bulk.get_bulk(session, bulk_id))


@router.get(
    "/bulk-actions/{bulk_id}/results",
    summary="Per-device results of a bulk action",
    responses=problem_responses(404),
)
def action_results(
    *,
    bulk_id: uuid.UUID,
    acting: FleetStaff,
    session: SessionDep,
    state: Annotated[OperationStateName | None, Query(description="Only this state.")] = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Results a page.")] = RESULTS_PAGE,
) -> FleetBulkResults:
    """One page of the devices' operations, in device order: state, reason, device code."""
    fleet_bulk.get_bulk(session, bulk_id)  # 404 for an unknown action
    found = fleet_bulk.bulk_results(
        session,
        bulk_id,
        after=after,
        state=OperationState(state) if state is not None else None,
        limit=limit + 1,
    )
    more = len(found) > limit
    page = found[:limit]
    return FleetBulkResults(
        results=[FleetBulkResult.of(result) for result in page],
        next_after=page[-1].device_id if more else None,
    )


@router.post(
    "/bulk-actions/{bulk_id}/cancel",
    summary="Cancel a bulk action",
    responses=problem_responses(404, 409),  # not running any more
)
def cancel_action(
    bulk_id: uuid.UUID, acting: FleetStaff, services: ServicesDep, session: SessionDep
) -> FleetBulkOut:
    """Stop a running action: queued operations are cancelled, those in flight end."""
    view = fleet_bulk.cancel_bulk(
        session, bulk_id, actor=acting.actor, clock=services.runtime.clock
    )
    return FleetBulkOut.of(view)
