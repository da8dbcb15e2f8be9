"""Tags: the operator's labels on units of the fleet (``device_tags``), and how to set them.

A tag labels hardware, never a person: a production batch, a site, a trial group
(``batch-2024-07``, ``trial.fw21``).  It is 1 to 40 of ``a-z 0-9 _ . -``
(:data:`TAG_PATTERN`) and never looks like a MAC or IP address, so free text, names
and addresses do not fit; a group's filter
selects devices by their tags (:mod:`.filters`), which is how operators keep a fixed
list of devices (decision 0040).

Contract:

* :func:`tag_devices` adds a tag to devices of the fleet (those with a registration
  record; others are counted as ``unknown``); a device tagged already is left alone.
* :func:`untag_devices` removes it; :func:`tags_of` reads the tags of some devices.
* Each change is audited once with counts and the tag (an operator's label, not
  personal), never a list of devices.

The table holds unit ids and labels only: nothing here is personal data, like
``devices.id`` itself (what links a unit to a person is in ``device_bindings``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.errors import InvalidInputError
from doorstep.core.logging import scrub
from doorstep.core.models import Base
from doorstep.devices.models import DeviceRegistration
from doorstep.vocabulary import not_personal

#: What a tag may look like (the whole tag matches).
TAG_PATTERN = re.compile(r"[a-z0-9_.-]{1,40}")
#: Most devices one call tags or untags (the CLI and the console send ids in batches).
MAX_DEVICES = 10_000


class DeviceTag(Base):
    """One label on one unit of the fleet."""

    __tablename__ = "device_tags"

    tag: Mapped[str] = mapped_column(
        sa.Text,
        primary_key=True,
        info=not_personal(
            "an operator's label of hardware (batch, site, trial), 1 to 40 of a-z 0-9 _ . -: "
            "no room for names or free text"
        ),
    )
    device_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("device_registrations.device_id", ondelete="CASCADE"),
        primary_key=True,
        info=not_personal(
            "the unit's inventory id (as devices.id); what links a unit to a person is in "
            "device_bindings"
        ),
    )
    tagged_at: Mapped[datetime] = mapped_column(info=not_personal("when the label was set"))
    tagged_by: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the staff or system actor who set it (staff:<id>, system:…)")
    )

    __table_args__ = (
        # the tags of a page of devices; the primary key (tag, device_id) serves the filter
        sa.Index("ix_device_tags_device_id", "device_id"),
    )


@dataclass(frozen=True, slots=True)
class TagChange:
    """What one tag or untag call did."""

    tag: str
    changed: int
    unchanged: int
    unknown: int


def valid_tag(tag: object) -> bool:
    """Whether ``tag`` is a tag: the pattern, and nothing that looks like a MAC or IP address."""
    return isinstance(tag, str) and bool(TAG_PATTERN.fullmatch(tag)) and scrub(tag) == tag


def check_tag(tag: str, *, field: str = "tag") -> str:
    """``tag`` if it is a valid tag; InvalidInputError (rule ``tag``) otherwise."""
    if not valid_tag(tag):
        raise InvalidInputError.of(
            field,
            "tag",
            "a tag is 1 to 40 of a-z, 0-9, '_', '.' and '-', and not a MAC or IP address",
        )
    return tag


def checked_devices(device_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """The distinct ids of ``device_ids``; InvalidInputError for none or over MAX_DEVICES."""
    ids = list(dict.fromkeys(device_ids))
    if not ids:
        raise InvalidInputError.of("device_ids", "required", "name at least one device")
    if len(ids) > MAX_DEVICES:
        raise InvalidInputError.of(
            "device_ids", "at_most_10000", f"at most {MAX_DEVICES} devices at once"
        )
    return ids


def registered_devices(session: Session, ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Those of ``ids`` that are registered devices."""
    return list(
        session.scalars(
            sa.select(DeviceRegistration.device_id).where(DeviceRegistration.device_id.in_(ids))
        )
    )


def tag_devices(
    session: Session, device_ids: Iterable[uuid.UUID], tag: str, *, actor: str, clock: Clock
) -> TagChange:
    """Add ``tag`` to each registered device of ``device_ids`` (audited once)."""
    check_tag(tag)
    ids = checked_devices(device_ids)
    known = registered_devices(session, ids)
    added = 0
    if known:
        now = clock.now()
        statement = (
            insert(DeviceTag)
            .values(
                [{"tag": tag, "device_id": d, "tagged_at": now, "tagged_by": actor} for d in known]
            )
            .on_conflict_do_nothing()
            .returning(DeviceTag.device_id)
        )
        added = len(session.execute(statement).all())
    change = TagChange(tag, added, len(known) - added, len(ids) - len(known))
    _audit(session, "devices.tagged", change, actor)
    return change


def untag_devices(
    session: Session, device_ids: Iterable[uuid.UUID], tag: str, *, actor: str
) -> TagChange:
    """Remove ``tag`` from each device of ``device_ids`` that has it (audited once)."""
    check_tag(tag)
    ids = checked_devices(device_ids)
    known = registered_devices(session, ids)
    removed = session.execute(
        sa.delete(DeviceTag)
        .where(DeviceTag.tag == tag, DeviceTag.device_id.in_(ids))
        .returning(DeviceTag.device_id)
    ).all()
    change = TagChange(tag, len(removed), len(known) - len(removed), len(ids) - len(known))
    _audit(session, "devices.untagged", change, actor)
    return change


def tags_of(session: Session, device_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Device id -> its tags in order, for the devices given (one query)."""
    found: dict[uuid.UUID, list[str]] = {device_id: [] for device_id in device_ids}
    if not found:
        return found
    rows = session.execute(
        sa.select(DeviceTag.device_id, DeviceTag.tag)
        .where(DeviceTag.device_id.in_(list(found)))
        .order_by(DeviceTag.device_id, DeviceTag.tag)
    )
    for device_id, tag in rows:
        found[device_id].append(tag)
    return found


def known_tags(session: Session, *, limit: int = 200) -> list[tuple[str, int]]:
    """The tags in use and how many devices carry each, most used first."""
    count = sa.func.count().label("devices")
    rows = session.execute(
        sa.select(DeviceTag.tag, count)
        .group_by(DeviceTag.tag)
        .order_by(count.desc(), DeviceTag.tag)
        .limit(limit)
    )
    return [(tag, int(devices)) for tag, devices in rows]


def _audit(session: Session, action: str, change: TagChange, actor: str) -> None:
    record(
        session,
        action=action,
        actor=actor,
        details={
            "tag": change.tag,
            "changed": change.changed,
            "unchanged": change.unchanged,
            "unknown": change.unknown,
        },
    )
