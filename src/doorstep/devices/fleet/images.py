"""Firmware images: upload or register one, list, show, remove, and whether one applies.

* :func:`upload_image` copies a file into ``<data_dir>/firmware/<id>.bin``, computing
  its SHA-256 and size as it goes (refused above ``fleet_firmware_max_bytes``);
  devices download it from Doorstep at :func:`download_url` (``/firmware/<id>``,
  :mod:`.api`).
* :func:`register_image` keeps the operator's URL as given, with the SHA-256 and size
  the operator states (the device checks them; Doorstep never fetches the file).
* :func:`remove_image` is refused (409) while an open operation names the image, or
  while any row refers to it (a rollout's foreign key); the uploaded file is deleted
  by :func:`discard_file` once the removal is committed.
* :func:`not_applicable` says why an image does not apply to a device's model and
  current version (``None`` when it does); versions compare by :func:`version_key`.

Bad input raises :class:`InvalidInputError` naming the field and rule, and nothing is
written.  Every addition and removal is audited (``firmware.image_added``,
``firmware.image_removed``) with the image id only.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.core.settings import Settings
from doorstep.devices.fleet.image_models import FirmwareImage
from doorstep.devices.fleet.operations import OPEN_STATES, DeviceOperation, OperationKind

FOLDER = "firmware"
"""Uploaded images live in ``<data_dir>/firmware/``."""
ROUTE = "/firmware/"
_CHUNK = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_VERSION = re.compile(r"^[\w.+~-]{1,64}$")
_MODEL = re.compile(r"^[\w .+/-]{1,64}$")


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """What the operator states about an image (its file or URL aside)."""

    version: str
    models: Sequence[str]
    min_version: str | None = None
    max_version: str | None = None
    release_notes: str = ""


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key: numbers compare as numbers, other parts as text (``1.10`` > ``1.9``)."""
    parts = re.findall(r"\d+|[A-Za-z]+", version)
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower()) for p in parts)


def not_applicable(image: FirmwareImage, model: str | None, version: str | None) -> str | None:
    """Why ``image`` does not apply to a device of ``model`` on ``version``; None if it does."""
    if model is None or model not in image.models:
        return "model"
    if version is None and (image.min_version or image.max_version):
        return "version_unknown"
    current = version_key(version or "")
    if image.min_version and current < version_key(image.min_version):
        return "below_min_version"
    if image.max_version and current > version_key(image.max_version):
        return "above_max_version"
    return None


def _check(spec: ImageSpec) -> None:
    if not _VERSION.fullmatch(spec.version):
        raise InvalidInputError.of("version", "format", "a version is 1-64 letters, digits, .-+~_")
    for name, value in (("min_version", spec.min_version), ("max_version", spec.max_version)):
        if value is not None and not _VERSION.fullmatch(value):
            raise InvalidInputError.of(name, "format", f"{name} is not a version")
    if not spec.models or not all(_MODEL.fullmatch(m) for m in spec.models):
        raise InvalidInputError.of("models", "format", "name at least one model (ModelName)")
    if (
        spec.min_version
        and spec.max_version
        and version_key(spec.min_version) > version_key(spec.max_version)
    ):
        raise InvalidInputError.of("min_version", "range", "min_version is above max_version")
    if len(spec.release_notes) > 20_000:
        raise InvalidInputError.of("release_notes", "length", "release notes are too long")


def _add(
    session: Session,
    spec: ImageSpec,
    *,
    image_id: uuid.UUID,
    size: int,
    sha256: str,
    url: str | None,
    file_name: str | None,
    actor: str,
    clock: Clock,
) -> FirmwareImage:
    image = FirmwareImage(
        id=image_id,
        version=spec.version,
        models=list(dict.fromkeys(spec.models)),
        min_version=spec.min_version,
        max_version=spec.max_version,
        size=size,
        sha256=sha256,
        url=url,
        file_name=file_name,
        release_notes=spec.release_notes,
        created_at=clock.now(),
        created_by=actor,
    )
    session.add(image)
    session.flush()
    record(
        session,
        action="firmware.image_added",
        actor=actor,
        details={"image_id": str(image.id), "uploaded": file_name is not None},
    )
    return image


def register_image(
    session: Session,
    spec: ImageSpec,
    *,
    url: str,
    sha256: str,
    size: int,
    actor: str,
    clock: Clock,
) -> FirmwareImage:
    """Add an image the devices download from the operator's ``url`` (kept as given)."""
    _check(spec)
    if not re.fullmatch(r"https?://[^\s]{1,2000}", url):
        raise InvalidInputError.of("url", "format", "the URL must be http:// or https://")
    digest = sha256.lower()
    if not _SHA256.fullmatch(digest):
        raise InvalidInputError.of("sha256", "format", "the SHA-256 is 64 hexadecimal digits")
    if size < 0:
        raise InvalidInputError.of("size", "range", "the size is a number of bytes")
    return _add(
        session,
        spec,
        image_id=uuid.uuid4(),
        size=size,
        sha256=digest,
        url=url,
        file_name=None,
        actor=actor,
        clock=clock,
    )


def folder(settings: Settings) -> Path:
    """Where uploaded images are stored."""
    return settings.data_dir / FOLDER


def upload_image(
    session: Session,
    spec: ImageSpec,
    source: BinaryIO,
    *,
    settings: Settings,
    actor: str,
    clock: Clock,
) -> FirmwareImage:
    """Store the bytes of ``source`` under the data dir and add the image (SHA-256 computed)."""
    _check(spec)
    image_id = uuid.uuid4()
    target = folder(settings)
    target.mkdir(parents=True, exist_ok=True)
    name = f"{image_id}.bin"
    partial = target / (name + ".part")
    digest, size = hashlib.sha256(), 0
    try:
        with partial.open("wb") as out:
            while chunk := source.read(_CHUNK):
                size += len(chunk)
                if size > settings.fleet_firmware_max_bytes:
                    raise InvalidInputError.of(
                        "file", "size", "the image is larger than fleet_firmware_max_bytes"
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise InvalidInputError.of("file", "size", "the image file is empty")
        partial.replace(target / name)
    finally:
        partial.unlink(missing_ok=True)
    try:
        return _add(
            session,
            spec,
            image_id=image_id,
            size=size,
            sha256=digest.hexdigest(),
            url=None,
            file_name=name,
            actor=actor,
            clock=clock,
        )
    except Exception:
        (target / name).unlink(missing_ok=True)
        raise


def get_image(session: Session, image_id: uuid.UUID) -> FirmwareImage:
    """The image, or NotFoundError."""
    image = session.get(FirmwareImage, image_id)
    if image is None:
        raise NotFoundError("no such firmware image")
    return image


def list_images(session: Session) -> list[FirmwareImage]:
    """Every image, newest first."""
    query = sa.select(FirmwareImage).order_by(FirmwareImage.created_at.desc(), FirmwareImage.id)
    return list(session.scalars(query))


def users(session: Session, image_id: uuid.UUID) -> int:
    """How many open operations name the image."""
    query = sa.select(sa.func.count()).where(
        DeviceOperation.kind == OperationKind.FIRMWARE_UPDATE,
        DeviceOperation.state.in_(OPEN_STATES),
        DeviceOperation.args["image_id"].astext == str(image_id),
    )
    return int(session.execute(query).scalar_one())


def remove_image(session: Session, image_id: uuid.UUID, *, actor: str) -> str | None:
    """Delete the image's row; return its stored file's name (for :func:`discard_file`).

    Refused with ConflictError while an open operation or any other row uses it.
    """
    image = get_image(session, image_id)
    if users(session, image_id):
        raise ConflictError("the image is used by an open operation", image_id=str(image_id))
    file_name = image.file_name
    try:
        with session.begin_nested():
            session.delete(image)
            session.flush()
    except IntegrityError:
        raise ConflictError("the image is used by a rollout", image_id=str(image_id)) from None
    record(
        session, action="firmware.image_removed", actor=actor, details={"image_id": str(image_id)}
    )
    return file_name


def discard_file(settings: Settings, file_name: str | None) -> None:
    """Delete an uploaded image's file (after its removal was committed)."""
    if file_name:
        (folder(settings) / Path(file_name).name).unlink(missing_ok=True)


def stored_file(settings: Settings, image: FirmwareImage) -> Path | None:
    """The uploaded file of ``image`` (None for a registered URL or a missing file)."""
    if image.file_name is None:
        return None
    path = folder(settings) / Path(image.file_name).name
    return path if path.is_file() else None


def base_url(settings: Settings) -> str:
    """Where devices reach Doorstep: ``fleet_firmware_base_url`` or ``http://host:port``."""
    configured = settings.fleet_firmware_base_url
    return (configured or f"http://{settings.host}:{settings.port}").rstrip("/")


def download_url(settings: Settings, image: FirmwareImage) -> str:
    """The URL a device downloads ``image`` from."""
    return image.url or f"{base_url(settings)}{ROUTE}{image.id}"


def describe(images: Iterable[FirmwareImage]) -> list[dict[str, object]]:
    """Plain dicts of images, for the CLI's JSON output and the API."""
    return [
        {
            "id": str(i.id),
            "version": i.version,
            "models": list(i.models),
            "min_version": i.min_version,
            "max_version": i.max_version,
            "size": i.size,
            "sha256": i.sha256,
            "url": i.url,
            "uploaded": i.file_name is not None,
            "release_notes": i.release_notes,
            "created_at": i.created_at.isoformat(),
        }
        for i in images
    ]
