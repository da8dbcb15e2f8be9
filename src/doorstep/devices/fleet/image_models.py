"""``firmware_images``: the firmware images the operator can install on its devices.

One row per image: the version it installs, the models it is for and the range of
current versions it may be installed over, its size and SHA-256, its release notes,
and where devices download it: either a URL the operator registered (kept as given)
or a file uploaded to Doorstep, stored under ``<data_dir>/firmware/`` and served by
Doorstep at ``/firmware/<id>`` (:mod:`.images`).  An image names a product's
software, never a unit or a person: nothing here is personal data.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.vocabulary import not_personal

_SOFTWARE = "about a firmware build shared by every unit of a model; no link to a unit or a person"


class FirmwareImage(Base):
    """A firmware image: what it installs, on which devices, and where it is downloaded."""

    __tablename__ = "firmware_images"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid.uuid4, info=not_personal("random id of the image")
    )
    version: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the SoftwareVersion the image installs: " + _SOFTWARE)
    )
    models: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text), info=not_personal("DeviceInfo.ModelName values it is for: " + _SOFTWARE)
    )
    min_version: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("lowest current version it installs over: " + _SOFTWARE)
    )
    max_version: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("highest current version it installs over: " + _SOFTWARE)
    )
    size: Mapped[int] = mapped_column(sa.BigInteger, info=not_personal("bytes: " + _SOFTWARE))
    sha256: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("hex SHA-256 of the image file: " + _SOFTWARE)
    )
    url: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("the operator's download URL of a registered image")
    )
    file_name: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("the uploaded file's name under <data_dir>/firmware/")
    )
    release_notes: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the vendor's release notes: " + _SOFTWARE)
    )
    created_at: Mapped[datetime] = mapped_column(info=not_personal("when it was added"))
    created_by: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the staff or system actor who added it (staff:<id>)")
    )

    __table_args__ = (
        sa.CheckConstraint("(url IS NULL) <> (file_name IS NULL)", name="url_or_file"),
        sa.CheckConstraint("size >= 0", name="size_not_negative"),
    )
