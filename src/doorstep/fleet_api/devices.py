"""The fleet device list, a device's technical view and tags, for fleet staff.

* ``GET …/devices`` — one page of the registered devices matching the filter (model,
  firmware exact or a range, product type, online state, tags), in id order, after
  ``after`` (keyset: page 1,000 costs what page 1 costs), with the count of matches up
  to 1,000 on the first page (:func:`~doorstep.devices.fleet.listing.fleet_page`).
  Model and firmware are read for ``device.maintenance`` as the console reads them:
  withheld for a role without that read grant (admin) and for a device whose owner
  restricted that purpose; one audit record per page;
* ``GET …/devices/{id}`` — the unit's technical view
  (:func:`~doorstep.devices.fleet.technical.technical_view`): inventory facts, model
  and firmware under the same rule, tags and newest operations; never the serial
  number, MAC, IP address or endpoint id (the console's device page reads those one
  at a time through ``staff_read``); 404 for an unknown id;
* ``GET …/tags`` — the tags in use with their counts; ``POST …/tags/{tag}/add`` and
  ``…/remove`` — label devices of the fleet or take the label off (a fixed set of
  devices is a tag and a group of it, decision 0040).

A filter or a tag that breaks the fleet's rules is a 422 problem naming the field and
rule, and nothing changes.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query

from doorstep.core.errors import NotFoundError
from doorstep.core.problems import problem_responses
from doorstep.devices.fleet.listing import MAX_PAGE_SIZE, PAGE_SIZE, fleet_page
from doorstep.devices.fleet.tags import known_tags, tag_devices, untag_devices
from doorstep.devices.fleet.technical import technical_view
from doorstep.fleet_api.access import FleetStaff, reads_registration
from doorstep.fleet_api.schemas import (
    FleetDeviceOut,
    FleetFilter,
    FleetPageOut,
    FleetTagChangeOut,
    FleetTagCount,
    FleetTagIn,
    FleetTagList,
)
from doorstep.services import ServicesDep, SessionDep

router = APIRouter()
After = Annotated[
    uuid.UUID | None, Query(description="The `next_after` of the previous page (keyset).")
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Devices a page.")]
Tag = Annotated[str, Path(max_length=40, description="1 to 40 of a-z 0-9 _ . -")]


@router.get("/devices", summary="The fleet's devices, filtered, by keyset pages")
def list_devices(
    *,
    acting: FleetStaff,
    services: ServicesDep,
    session: SessionDep,
    model: Annotated[str | None, Query(description="Model (exact).")] = None,
    firmware: Annotated[str | None, Query(description="Firmware version (exact).")] = None,
    firmware_min: Annotated[str | None, Query(description="Lowest version.")] = None,
    firmware_below: Annotated[str | None, Query(description="Versions below this.")] = None,
    product_type: Annotated[str | None, Query(description="router or gateway.")] = None,
    online: Annotated[bool | None, Query(description="Online or offline.")] = None,
    tag: Annotated[list[str] | None, Query(description="Every tag (repeatable).")] = None,
    after: After = None,
    limit: Limit = PAGE_SIZE,
) -> FleetPageOut:
    """One page of the registered devices matching every criterion given, in id order."""
    found = FleetFilter(
        model=model,
        firmware=firmware,
        firmware_min=firmware_min,
        firmware_below=firmware_below,
        product_type=product_type,
        online=online,
        tags=tag,
    ).parsed()
    page = fleet_page(
        session,
        services.gate,
        found,
        actor=acting.actor,
        after=after,
        limit=limit,
        may_read=reads_registration(services, acting.staff),
        count=after is None,
    )
    return FleetPageOut.of(page)


@router.get(
    "/devices/{device_id}",
    summary="A device's technical view",
    responses=problem_responses(404),
)
def show_device(
    device_id: uuid.UUID, acting: FleetStaff, services: ServicesDep, session: SessionDep
) -> FleetDeviceOut:
    """The unit, its model and firmware (unless withheld), tags and newest operations."""
    view = technical_view(
        session,
        services.gate,
        device_id,
        actor=acting.actor,
        may_read=reads_registration(services, acting.staff),
    )
    if view is None:
        raise NotFoundError("no device of the inventory has this id")
    return FleetDeviceOut.of(view)


@router.get("/tags", summary="Tags in use")
def list_tags(acting: FleetStaff, session: SessionDep) -> FleetTagList:
    """The tags on devices of the fleet and how many devices carry each, most used first."""
    return FleetTagList(
        tags=[FleetTagCount(tag=tag, devices=count) for tag, count in known_tags(session)]
    )


@router.post("/tags/{tag}/add", summary="Label devices with a tag")
def add_tag(
    tag: Tag, body: FleetTagIn, acting: FleetStaff, services: ServicesDep, session: SessionDep
) -> FleetTagChangeOut:
    """Add the tag to the devices listed (devices the fleet does not know are counted)."""
    change = tag_devices(
        session, body.device_ids, tag, actor=acting.actor, clock=services.runtime.clock
    )
    return FleetTagChangeOut.of(change)


@router.post("/tags/{tag}/remove", summary="Take a tag off devices")
def remove_tag(
    tag: Tag, body: FleetTagIn, acting: FleetStaff, session: SessionDep
) -> FleetTagChangeOut:
    """Remove the tag from the devices listed that carry it."""
    return FleetTagChangeOut.of(untag_devices(session, body.device_ids, tag, actor=acting.actor))
