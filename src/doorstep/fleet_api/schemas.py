"""Bodies of the fleet API: filters, operations, the device list and view, images, groups, tags.

The bodies check shapes, sizes and number ranges (pydantic: a 422 problem naming the
field and rule); the rules of the fleet (a filter's criteria, a version, a tag, a group's
name, an image's fields) are the services' and come back as 422 problems the same way,
before anything is stored.  Free text may not hold a NUL character (PostgreSQL's text
cannot store it).  Views carry ids, names of models and versions, states, codes and
counts: never a serial number, MAC, IP address or endpoint id, never a subscriber.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from doorstep.devices.fleet.filters import DeviceFilter
from doorstep.devices.fleet.groups import Group
from doorstep.devices.fleet.image_models import FirmwareImage
from doorstep.devices.fleet.listing import FleetPage, FleetRow
from doorstep.devices.fleet.operations import DeviceOperation
from doorstep.devices.fleet.single import operation_view
from doorstep.devices.fleet.tags import MAX_DEVICES, TagChange
from doorstep.devices.fleet.technical import TechnicalView

#: Text without NUL characters.
NO_NUL = r"^[^\x00]*$"
#: The largest count PostgreSQL's ``integer`` holds.
INT_MAX = 2**31 - 1
OperationStateName = Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled"]


class FleetFilter(BaseModel):
    """Which registered devices: every criterion optional, all of them must hold.

    The empty filter is the whole fleet.  Versions compare number by number
    (``1.9 < 1.10``); ``firmware`` (exact) excludes a range.
    """

    model_config = ConfigDict(extra="forbid")
    model: str | None = Field(default=None, description="The model name (exact).")
    firmware: str | None = Field(default=None, description="The firmware version (exact).")
    firmware_min: str | None = Field(default=None, description="Lowest version (inclusive).")
    firmware_below: str | None = Field(default=None, description="Versions below this one.")
    product_type: str | None = Field(default=None, description="router or gateway.")
    online: bool | None = Field(default=None, description="Online (true) or offline (false).")
    tags: list[str] | None = Field(default=None, description="The device carries every tag.")

    def raw(self) -> dict[str, Any]:
        """The criteria given, as :meth:`DeviceFilter.parse` takes them."""
        return self.model_dump(exclude_none=True)

    def parsed(self) -> DeviceFilter:
        """The filter, checked by the fleet's rules (InvalidInputError: a 422 problem)."""
        return DeviceFilter.parse(self.raw())

    @classmethod
    def of(cls, found: DeviceFilter) -> FleetFilter:
        """The body of a stored filter."""
        return cls.model_validate(found.to_json())


class FleetOperationOut(BaseModel):
    """One operation on one device: where it stands and how it ended."""

    id: uuid.UUID
    device_id: uuid.UUID
    kind: Literal["reboot", "set_parameters", "firmware_update", "diagnostic", "wipe_settings"]
    state: OperationStateName
    step: str | None = Field(description="The step it is at (download, activate …).")
    reason: str | None = Field(description="Why it ended so (a reason code).")
    usp_code: int | None = Field(description="The device's own USP error code.")
    fault: str | None = Field(description="The device's own error text.")
    result: dict[str, Any] = Field(description="What the device reported (versions, status).")
    args: dict[str, Any] = Field(description="Its arguments (ids, non-personal parameters).")
    origin_kind: Literal["rollout", "bulk", "diagnostic", "wipe", "single"]
    origin_id: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    deadline_at: datetime | None

    @classmethod
    def of(cls, op: DeviceOperation) -> FleetOperationOut:
        """The body of ``op`` (:func:`~doorstep.devices.fleet.single.operation_view`)."""
        return cls.model_validate(operation_view(op))


class FirmwareUpdateIn(BaseModel):
    """Update one device to a registered image."""

    model_config = ConfigDict(extra="forbid")
    image_id: uuid.UUID = Field(description="A registered firmware image.")
    request_id: uuid.UUID | None = Field(
        default=None,
        description="Your id of this request: asking again with the same id queues nothing "
        "more and answers the same operation.",
    )


class FleetDeviceRow(BaseModel):
    """A device of the list: model and firmware unless withheld."""

    device_id: uuid.UUID
    product_type: str | None
    online: bool
    tags: list[str]
    model: str | None
    firmware_version: str | None
    withheld: bool = Field(
        description="Model and firmware not shown: the owner restricted device maintenance, "
        "or your role does not read them."
    )

    @classmethod
    def of(cls, row: FleetRow) -> FleetDeviceRow:
        """The body of a row of the list."""
        return cls(
            device_id=row.device_id,
            product_type=row.product_type.value if row.product_type is not None else None,
            online=row.online,
            tags=list(row.tags),
            model=row.model,
            firmware_version=row.firmware_version,
            withheld=row.withheld,
        )


class FleetPageOut(BaseModel):
    """One page of matching devices in id order, and where the next one starts."""

    devices: list[FleetDeviceRow]
    next_after: uuid.UUID | None = Field(
        description="Pass as `after` for the next page; null on the last page."
    )
    count: int | None = Field(
        description="Matches, counted up to 1,000 (first page only; null after it)."
    )
    count_capped: bool = Field(description="More devices match than `count` says.")

    @classmethod
    def of(cls, page: FleetPage) -> FleetPageOut:
        """The body of a page."""
        return cls(
            devices=[FleetDeviceRow.of(row) for row in page.rows],
            next_after=page.next_after,
            count=page.count,
            count_capped=page.capped,
        )


class FleetDeviceOut(BaseModel):
    """A device's technical view: the unit, its firmware, tags and newest operations."""

    device_id: uuid.UUID
    provisioned_at: datetime
    registered: bool = Field(description="Whether it ever connected and registered.")
    bound: bool = Field(description="Whether a subscriber's account holds it (never whose).")
    product_type: str | None
    mtp: str | None = Field(description="The transport it last used: mqtt or websocket.")
    online: bool | None
    anonymised_at: datetime | None
    missing_fields: list[str] = Field(description="Registration fields it does not provide.")
    model: str | None
    firmware_version: str | None
    withheld: bool = Field(description="Model and firmware not shown (restricted, or role).")
    tags: list[str]
    operations: list[FleetOperationOut] = Field(description="Its newest operations (10).")

    @classmethod
    def of(cls, view: TechnicalView) -> FleetDeviceOut:
        """The body of a technical view."""
        return cls(
            device_id=view.device_id,
            provisioned_at=view.provisioned_at,
            registered=view.registered,
            bound=view.bound,
            product_type=view.product_type.value if view.product_type is not None else None,
            mtp=view.mtp,
            online=view.online,
            anonymised_at=view.anonymised_at,
            missing_fields=list(view.missing_fields),
            model=view.model,
            firmware_version=view.firmware_version,
            withheld=view.withheld,
            tags=list(view.tags),
            operations=[FleetOperationOut.of(op) for op in view.operations],
        )


class FirmwareImageIn(BaseModel):
    """A firmware image at the operator's URL (devices download it there and check it)."""

    model_config = ConfigDict(extra="forbid")
    version: str = Field(description="The SoftwareVersion it installs (1-64 of A-Za-z0-9.-+~_).")
    models: list[str] = Field(min_length=1, max_length=100, description="ModelName values.")
    min_version: str | None = Field(default=None, description="Lowest version it goes over.")
    max_version: str | None = Field(default=None, description="Highest version it goes over.")
    release_notes: str = Field(default="", pattern=NO_NUL, description="The vendor's notes.")
    url: str = Field(pattern=NO_NUL, description="http:// or https:// URL of the file.")
    sha256: str = Field(description="SHA-256 of the file: 64 hexadecimal digits.")
    size: int = Field(ge=0, le=2**63 - 1, description="Bytes.")


class FirmwareImageOut(BaseModel):
    """A firmware image (not personal data: it names software)."""

    id: uuid.UUID
    version: str
    models: list[str]
    min_version: str | None
    max_version: str | None
    size: int
    sha256: str
    url: str | None = Field(description="The operator's URL (null for an uploaded file).")
    uploaded: bool
    release_notes: str
    download_url: str = Field(description="Where devices download it.")
    created_at: datetime

    @classmethod
    def of(cls, image: FirmwareImage, download_url: str) -> FirmwareImageOut:
        """The body of ``image``."""
        return cls(
            id=image.id,
            version=image.version,
            models=list(image.models),
            min_version=image.min_version,
            max_version=image.max_version,
            size=image.size,
            sha256=image.sha256,
            url=image.url,
            uploaded=image.file_name is not None,
            release_notes=image.release_notes,
            download_url=download_url,
            created_at=image.created_at,
        )


class FirmwareImageList(BaseModel):
    """Every image, newest first."""

    images: list[FirmwareImageOut]


class FleetGroupIn(BaseModel):
    """A group: a name and a filter; its members are the devices matching it now."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="1 to 80 printable characters, unique.")
    filter: FleetFilter = Field(default_factory=FleetFilter)


class FleetGroupOut(BaseModel):
    """A group, and how many devices match it now (counted up to 1,000)."""

    id: uuid.UUID
    name: str
    filter: FleetFilter
    devices: int = Field(description="Matches now, counted up to 1,000.")
    devices_capped: bool = Field(description="More than 1,000 devices match.")
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, group: Group, count: int, cap: int) -> FleetGroupOut:
        """The body of ``group`` with ``count`` members (counted up to ``cap`` + 1)."""
        return cls(
            id=group.id,
            name=group.name,
            filter=FleetFilter.of(group.filter),
            devices=min(count, cap),
            devices_capped=count > cap,
            created_at=group.created_at,
            created_by=group.created_by,
        )


class FleetGroupList(BaseModel):
    """Every group, by name."""

    groups: list[FleetGroupOut]


TagDevices = Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_DEVICES)]


class FleetTagIn(BaseModel):
    """The devices to label (or unlabel)."""

    model_config = ConfigDict(extra="forbid")
    device_ids: TagDevices


class FleetTagChangeOut(BaseModel):
    """What a tag or untag did: devices changed, left as they were, unknown to the fleet."""

    tag: str
    changed: int
    unchanged: int
    unknown: int

    @classmethod
    def of(cls, change: TagChange) -> FleetTagChangeOut:
        """The body of a change."""
        return cls(
            tag=change.tag,
            changed=change.changed,
            unchanged=change.unchanged,
            unknown=change.unknown,
        )


class FleetTagCount(BaseModel):
    """A tag in use and how many devices carry it."""

    tag: str
    devices: int


class FleetTagList(BaseModel):
    """The tags in use, most used first (at most 200)."""

    tags: list[FleetTagCount]
