"""Device groups for fleet staff: saved filters, and the devices matching one now.

* ``GET …/groups`` — every group by name, with how many devices match it now
  (counted up to 1,000);
* ``POST …/groups`` — save a group (201): a name (1 to 80 printable characters,
  unique: 409 otherwise) and a filter; a bad filter is a 422 problem naming the field
  and rule, and nothing is stored (:func:`~doorstep.devices.fleet.groups.create_group`);
* ``GET …/groups/{id}`` — one group; ``DELETE …/groups/{id}`` — delete it (204; bulk
  actions made from it keep their own copy of its filter, rollouts their frozen target);
* ``GET …/groups/{id}/devices`` — its members now, as the device list pages them
  (keyset, model and firmware under the list's rule, one audit record per page).

An unknown group is a 404.  Creating and deleting are audited by the services.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from sqlalchemy.orm import Session

from doorstep.core.problems import problem_responses
from doorstep.devices.fleet import groups as fleet_groups
from doorstep.devices.fleet.listing import PAGE_SIZE, fleet_page
from doorstep.fleet_api.access import FleetStaff, reads_registration
from doorstep.fleet_api.devices import After, Limit
from doorstep.fleet_api.schemas import FleetGroupIn, FleetGroupList, FleetGroupOut, FleetPageOut
from doorstep.services import ServicesDep, SessionDep

router = APIRouter()
CAP = fleet_groups.COUNT_CAP


def _out(session: Session, group: fleet_groups.Group) -> FleetGroupOut:
    return FleetGroupOut.of(group, fleet_groups.count_members(session, group.filter), CAP)


@router.get("/groups", summary="Device groups")
def list_groups(acting: FleetStaff, session: SessionDep) -> FleetGroupList:
    """Every group by name, with its count of matching devices (up to 1,000)."""
    return FleetGroupList(groups=[_out(session, g) for g in fleet_groups.list_groups(session)])


@router.post(
    "/groups",
    status_code=status.HTTP_201_CREATED,
    summary="Save a device group",
    responses=problem_responses(409),  # the name is taken
)
def create_group(
    body: FleetGroupIn, acting: FleetStaff, services: ServicesDep, session: SessionDep
) -> FleetGroupOut:
    """Save a name and a filter; its members are the devices matching the filter now."""
    group = fleet_groups.create_group(
        session, body.name, body.filter.raw(), actor=acting.actor, clock=services.runtime.clock
    )
    return _out(session, group)


@router.get("/groups/{group_id}", summary="One device group", responses=problem_responses(404))
def show_group(group_id: uuid.UUID, acting: FleetStaff, session: SessionDep) -> FleetGroupOut:
    """One group and its count of matching devices."""
    return _out(session, fleet_groups.get_group(session, group_id))


@router.delete(
    "/groups/{group_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a device group",
    responses=problem_responses(404),
)
def delete_group(group_id: uuid.UUID, acting: FleetStaff, session: SessionDep) -> Response:
    """Delete the group (204 with no body); what was made from it keeps its own target."""
    fleet_groups.delete_group(session, group_id, actor=acting.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/groups/{group_id}/devices",
    summary="The devices of a group, by keyset pages",
    responses=problem_responses(404),
)
def group_devices(
    *,
    group_id: uuid.UUID,
    acting: FleetStaff,
    services: ServicesDep,
    session: SessionDep,
    after: After = None,
    limit: Limit = PAGE_SIZE,
) -> FleetPageOut:
    """One page of the devices matching the group's filter now, in id order."""
    group = fleet_groups.get_group(session, group_id)
    page = fleet_page(
        session,
        services.gate,
        group.filter,
        actor=acting.actor,
        after=after,
        limit=limit,
        may_read=reads_registration(services, acting.staff),
        count=after is None,
    )
    return FleetPageOut.of(page)
