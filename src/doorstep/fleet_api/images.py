"""Firmware images, the update of one device, and one operation, for fleet staff.

* ``GET …/images`` — every image, newest first; ``GET …/images/{id}`` — one;
* ``POST …/images`` — register an image at the operator's URL (201): version, models,
  range of versions it installs over, release notes, URL, SHA-256 and size, checked by
  :func:`~doorstep.devices.fleet.images.register_image` (422 naming the field and rule,
  nothing stored).  Uploading a file stays with the console and ``doorstep firmware
  add --file`` (the API takes JSON bodies only);
* ``DELETE …/images/{id}`` — remove one (204); refused with 409 while an open
  operation or a rollout uses it.  An uploaded file is deleted once the removal is
  committed;
* ``POST …/devices/{device_id}/firmware-update`` — queue the update of one device
  (202, the operation; :func:`~doorstep.devices.fleet.single.request_update`, origin
  ``single``, purpose ``device.maintenance``); an unknown device or image is a 404;
  with ``request_id`` a repeated request answers the same operation;
* ``GET …/operations/{id}`` — one operation: state, step, reason, the device's code.

Every change is audited by the services with the staff member as actor.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, BackgroundTasks, Response, status

from doorstep.core.problems import problem_responses
from doorstep.devices.fleet import images as fleet_images
from doorstep.devices.fleet.image_models import FirmwareImage
from doorstep.devices.fleet.images import ImageSpec
from doorstep.devices.fleet.single import get_operation, request_update
from doorstep.fleet_api.access import FleetStaff
from doorstep.fleet_api.schemas import (
    FirmwareImageIn,
    FirmwareImageList,
    FirmwareImageOut,
    FirmwareUpdateIn,
    FleetOperationOut,
)
from doorstep.services import Services, ServicesDep, SessionDep

router = APIRouter()


def _out(services: Services, image: FirmwareImage) -> FirmwareImageOut:
    return FirmwareImageOut.of(image, fleet_images.download_url(services.runtime.settings, image))


@router.get("/images", summary="Firmware images")
def list_images(
    acting: FleetStaff, services: ServicesDep, session: SessionDep
) -> FirmwareImageList:
    """Every firmware image, newest first, with where devices download it."""
    return FirmwareImageList(
        images=[_out(services, image) for image in fleet_images.list_images(session)]
    )


@router.post(
    "/images",
    status_code=status.HTTP_201_CREATED,
    summary="Register a firmware image",
    responses=problem_responses(422),
)
def register_image(
    body: FirmwareImageIn, acting: FleetStaff, services: ServicesDep, session: SessionDep
) -> FirmwareImageOut:
    """Register an image at the operator's URL (devices download it there and check it)."""
    image = fleet_images.register_image(
        session,
        ImageSpec(
            body.version, body.models, body.min_version, body.max_version, body.release_notes
        ),
        url=body.url,
        sha256=body.sha256,
        size=body.size,
        actor=acting.actor,
        clock=services.runtime.clock,
    )
    return _out(services, image)


@router.get("/images/{image_id}", summary="One firmware image", responses=problem_responses(404))
def show_image(
    image_id: uuid.UUID, acting: FleetStaff, services: ServicesDep, session: SessionDep
) -> FirmwareImageOut:
    """One image."""
    return _out(services, fleet_images.get_image(session, image_id))


@router.delete(
    "/images/{image_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a firmware image",
    responses=problem_responses(404, 409),  # in use by an operation or a rollout
)
def remove_image(
    image_id: uuid.UUID,
    acting: FleetStaff,
    services: ServicesDep,
    session: SessionDep,
    after: BackgroundTasks,
) -> Response:
    """Remove an image no open operation or rollout uses (204 with no body)."""
    file_name = fleet_images.remove_image(session, image_id, actor=acting.actor)
    # The transaction commits before the response is sent, background tasks after it:
    # an uploaded file goes only once its row is gone for good.
    after.add_task(fleet_images.discard_file, services.runtime.settings, file_name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/devices/{device_id}/firmware-update",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Update one device's firmware",
    responses=problem_responses(404),  # no such device or image
)
def update_device(
    device_id: uuid.UUID,
    body: FirmwareUpdateIn,
    acting: FleetStaff,
    services: ServicesDep,
    session: SessionDep,
) -> FleetOperationOut:
    """Queue the update of one device; a controller runs it (follow it by its operation)."""
    op = request_update(
        session,
        device_id,
        body.image_id,
        actor=acting.actor,
        clock=services.runtime.clock,
        request_id=body.request_id,
    )
    return FleetOperationOut.of(op)


@router.get(
    "/operations/{operation_id}", summary="One fleet operation", responses=problem_responses(404)
)
def show_operation(
    operation_id: uuid.UUID, acting: FleetStaff, session: SessionDep
) -> FleetOperationOut:
    """Where one operation stands: state, step, reason and the device's own error."""
    return FleetOperationOut.of(get_operation(session, operation_id))
