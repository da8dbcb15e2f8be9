"""The console's firmware images, and the firmware update of one device (decision 0038).

* ``GET /console/firmware`` — the images (version, models, range, size, SHA-256, where
  devices download them) and two forms: register an image at the operator's URL, or
  upload a file (stored under the data dir, SHA-256 computed, served to devices at
  ``/firmware/<id>``);
* ``POST /console/firmware`` and ``POST /console/firmware/upload`` — add one; bad input
  re-renders the form with the field marked and nothing stored;
* ``POST /console/firmware/{id}/delete`` — remove one (refused while an open
  operation or a rollout uses it);
* ``POST /console/devices/{device_id}/firmware`` — queue the update of that device
  (the device page shows the form and the device's latest operations).

Every action needs ``manage_fleet`` (support, admin); another role gets the 403 page,
recorded by ``require_action``.  Nothing here is personal data: images name software,
operations carry ids, states and the device's error codes.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from doorstep.core.errors import ConflictError, InvalidInputError
from doorstep.devices.fleet import images as fleet_images
from doorstep.devices.fleet.images import ImageSpec
from doorstep.devices.fleet.single import device_operations, request_update
from doorstep.staff.permissions import StaffAction, may
from doorstep.staff.services import Staff
from doorstep.web.console.staff_work import Form, act, must, text
from doorstep.web.i18n import _
from doorstep.web.session import PageStaff
from doorstep.web.templating import DONE, render
from doorstep.web.work import services_of

router = APIRouter(include_in_schema=False)
FIELDS = ("version", "models", "min_version", "max_version", "notes", "url", "sha256", "size")
DONE.update(
    {
        "image_added": _("The firmware image is added."),
        "image_removed": _("The firmware image is removed."),
        "update_queued": _("The firmware update is queued: a controller runs it."),
    }
)


def _page(
    request: Request,
    staff: Staff,
    *,
    status_code: int = 200,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    settings = services_of(request).runtime.settings

    def work(session: Session, actor: str) -> list[dict[str, Any]]:
        found = fleet_images.list_images(session)
        shown = fleet_images.describe(found)
        for row, image in zip(shown, found, strict=True):
            row["download_url"] = fleet_images.download_url(settings, image)
        return shown

    images = must(act(request, staff, StaffAction.MANAGE_FLEET, work))
    return render(
        request,
        "console/firmware.html",
        status_code=status_code,
        images=images,
        error=error,
        errors=errors or {},
        values=values or {},
    )


@router.get("/console/firmware", response_class=HTMLResponse)
def firmware_page(request: Request, staff: PageStaff) -> HTMLResponse:
    """The images and the forms that add one."""
    return _page(request, staff)


def _spec(values: dict[str, str]) -> ImageSpec:
    models = [m.strip() for m in values["models"].split(",") if m.strip()]
    return ImageSpec(
        values["version"],
        models,
        values["min_version"] or None,
        values["max_version"] or None,
        values["notes"],
    )


def _refused(
    request: Request, staff: Staff, error: Exception | None, values: dict[str, str]
) -> Response:
    errors: dict[str, str] = {}
    if isinstance(error, InvalidInputError):
        for item in error.fields.get("errors") or ():
            field = str(item.get("field"))
            errors[field if field in (*FIELDS, "file") else "version"] = _("This is not valid.")
    return _page(
        request,
        staff,
        status_code=422,
        error=_("Please correct what is marked below."),
        errors=errors,
        values=values,
    )


@router.post("/console/firmware", response_class=HTMLResponse)
def register(request: Request, staff: PageStaff, form: Form) -> Response:
    """Register an image at the operator's URL."""
    clock = services_of(request).runtime.clock
    values = {name: text(form, name) for name in FIELDS}

    def work(session: Session, actor: str) -> uuid.UUID:
        if not values["size"].isdigit():
            raise InvalidInputError.of("size", "format", "the size is a number of bytes")
        return fleet_images.register_image(
            session,
            _spec(values),
            url=values["url"],
            sha256=values["sha256"],
            size=int(values["size"]),
            actor=actor,
            clock=clock,
        ).id

    outcome = act(request, staff, StaffAction.MANAGE_FLEET, work)
    if outcome.ok:
        return RedirectResponse("/console/firmware?done=image_added", 303)
    return _refused(request, staff, outcome.error, values)


@router.post("/console/firmware/upload", response_class=HTMLResponse)
def upload(request: Request, staff: PageStaff, form: Form) -> Response:
    """Upload an image file (stored under the data dir, SHA-256 computed)."""
    runtime = services_of(request).runtime
    values = {name: text(form, name) for name in FIELDS}
    file = form.get("file")

    def work(session: Session, actor: str) -> uuid.UUID:
        if not isinstance(file, UploadFile):
            raise InvalidInputError.of("file", "required", "choose the image file")
        return fleet_images.upload_image(
            session,
            _spec(values),
            file.file,
            settings=runtime.settings,
            actor=actor,
            clock=runtime.clock,
        ).id

    try:
        outcome = act(request, staff, StaffAction.MANAGE_FLEET, work)
    finally:
        if isinstance(file, UploadFile):
            file.file.close()
    if outcome.ok:
        return RedirectResponse("/console/firmware?done=image_added", 303)
    return _refused(request, staff, outcome.error, values)


@router.post("/console/firmware/{image_id}/delete", response_class=HTMLResponse)
def delete(request: Request, image_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Remove an image (refused while an open operation or a rollout uses it)."""
    settings = services_of(request).runtime.settings

    def work(session: Session, actor: str) -> str | None:
        return fleet_images.remove_image(session, image_id, actor=actor)

    outcome = act(request, staff, StaffAction.MANAGE_FLEET, work)
    if outcome.ok:
        fleet_images.discard_file(settings, outcome.value)
        return RedirectResponse("/console/firmware?done=image_removed", 303)
    if isinstance(outcome.error, ConflictError):
        return _page(
            request,
            staff,
            status_code=409,
            error=_("This image is in use by an operation or a rollout: it stays."),
        )
    assert outcome.error is not None
    raise outcome.error


def device_fleet(session: Session, staff: Staff, device_id: uuid.UUID) -> dict[str, Any] | None:
    """The device page's firmware section (images, latest operations); None for other roles."""
    if not may(staff.role, StaffAction.MANAGE_FLEET):
        return None
    return {
        "images": fleet_images.list_images(session),
        "operations": device_operations(session, device_id, limit=10),
    }


@router.post("/console/devices/{device_id}/firmware", response_class=HTMLResponse)
def update_device(request: Request, device_id: uuid.UUID, staff: PageStaff, form: Form) -> Response:
    """Queue the firmware update of this device."""
    clock = services_of(request).runtime.clock
    chosen = text(form, "image")

    def work(session: Session, actor: str) -> uuid.UUID:
        try:
            image_id = uuid.UUID(chosen)
        except ValueError:
            raise InvalidInputError.of("image", "required", "choose an image") from None
        return request_update(session, device_id, image_id, actor=actor, clock=clock).id

    outcome = act(request, staff, StaffAction.MANAGE_FLEET, work)
    if outcome.ok:
        return RedirectResponse(f"/console/devices/{device_id}?done=update_queued", 303)
    assert outcome.error is not None
    raise outcome.error  # no such device or image, no image chosen: the error page
