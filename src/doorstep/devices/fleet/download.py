"""``GET /firmware/{image_id}``: where devices download the firmware images uploaded to Doorstep.

The URL a ``firmware_update`` sends in ``Download()`` for an uploaded image
(:func:`doorstep.devices.fleet.images.download_url`).  It answers the stored file
(``application/octet-stream``, its length, HEAD and byte ranges as Starlette's
``FileResponse`` serves them) and 404 for an image registered by URL, a removed one or
one whose file is gone.  No authentication: a firmware image is not secret and not
personal data, and its id is random; the device checks the SHA-256 it was sent.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from doorstep.core.errors import NotFoundError
from doorstep.devices.fleet.image_models import FirmwareImage
from doorstep.devices.fleet.images import ROUTE, stored_file

router = APIRouter(include_in_schema=False)


@router.api_route(ROUTE + "{image_id}", methods=["GET", "HEAD"])
def download(request: Request, image_id: uuid.UUID) -> FileResponse:
    """The uploaded image's file, for devices."""
    runtime = request.app.state.runtime
    with runtime.sessions() as session:
        image = session.get(FirmwareImage, image_id)
        path = stored_file(runtime.settings, image) if image is not None else None
    if path is None:
        raise NotFoundError("no such firmware image")
    return FileResponse(path, media_type="application/octet-stream", filename=path.name)
