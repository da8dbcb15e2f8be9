"""Device groups: named, saved fleet filters (``device_groups``), and what they resolve to.

A group is a name and a :class:`~.filters.DeviceFilter` (model, firmware exact or
range, product type, online state, tags).  It has no member list of its own: a fixed
set of devices is a tag, and a group of that tag (decision 0040).  Its members are
the devices of the fleet that match the filter *now*: the registered devices whose
record is not anonymised (an anonymised record has no endpoint to reach).

Contract:

* :func:`create_group` validates the name (1 to 80 printable characters, unique) and
  the filter, stores both and audits the creation; :func:`delete_group` removes the
  group (bulk actions keep their own copy of its filter, so nothing running changes).
* :func:`resolve_group` is what rollouts and bulk actions target: the ids of the
  group's members in id order; :func:`members` is the same as a SQL ``SELECT`` of
  ``device_id`` for set-based work on big fleets (``INSERT … SELECT``, keyset pages).
* :func:`count_members` counts up to a cap (an exact count of a million rows is a
  scan: counting stops after :data:`COUNT_CAP` matches, which is what a list needs,
  "more than 1,000"; bench/bench_fleet.py measured 10,000 at 1M devices to cost
  more than the page itself).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.core.models import Base
from doorstep.devices.fleet.filters import DeviceFilter
from doorstep.devices.models import DeviceRegistration
from doorstep.vocabulary import not_personal

MAX_NAME = 80
#: Counts of members stop here ("more than 1,000").
COUNT_CAP = 1_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class DeviceGroup(Base):
    """A named filter over the fleet."""

    __tablename__ = "device_groups"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid.uuid4, info=not_personal("random id of the group")
    )
    name: Mapped[str] = mapped_column(
        sa.Text,
        unique=True,
        info=not_personal("the operator's name of a set of hardware (model, firmware, tags)"),
    )
    filter: Mapped[dict[str, Any]] = mapped_column(
        JSONB,
        info=not_personal(
            "model names, version strings, product type, online flag and operator tags "
            "(validated: DeviceFilter)"
        ),
    )
    created_at: Mapped[datetime] = mapped_column(info=not_personal("when it was created"))
    created_by: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the staff or system actor who created it")
    )


@dataclass(frozen=True, slots=True)
class Group:
    """A group as services hand it out."""

    id: uuid.UUID
    name: str
    filter: DeviceFilter
    created_at: datetime
    created_by: str


def _group(row: DeviceGroup) -> Group:
    return Group(row.id, row.name, DeviceFilter.parse(row.filter), row.created_at, row.created_by)


def check_name(name: str) -> str:
    """The stripped ``name`` if it is a valid group name; InvalidInputError otherwise."""
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME or _CONTROL.search(name):
        raise InvalidInputError.of(
            "name", "group_name", f"a group's name is 1 to {MAX_NAME} printable characters"
        )
    return name


def create_group(
    session: Session, name: str, raw_filter: dict[str, Any], *, actor: str, clock: Clock
) -> Group:
    """Store a new group; InvalidInputError for a bad name or filter, ConflictError if taken."""
    name = check_name(name)
    found = DeviceFilter.parse(raw_filter)
    row = DeviceGroup(
        id=uuid.uuid4(),
        name=name,
        filter=found.to_json(),
        created_at=clock.now(),
        created_by=actor,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise ConflictError("a group has this name already", reason="name_taken") from exc
    record(
        session,
        action="devices.group_created",
        actor=actor,
        details={"group": str(row.id), "criteria": ":".join(found.to_json()) or "all"},
    )
    return _group(row)


def get_group(session: Session, group_id: uuid.UUID) -> Group:
    """One group; NotFoundError if there is none with this id."""
    row = session.get(DeviceGroup, group_id)
    if row is None:
        raise NotFoundError("no device group has this id")
    return _group(row)


def find_group(session: Session, reference: str) -> Group:
    """The group named ``reference`` or with that id; NotFoundError otherwise."""
    try:
        return get_group(session, uuid.UUID(reference))
    except ValueError:
        pass
    row = session.scalar(sa.select(DeviceGroup).where(DeviceGroup.name == reference.strip()))
    if row is None:
        raise NotFoundError("no device group has this name or id")
    return _group(row)


def list_groups(session: Session) -> list[Group]:
    """Every group, by name."""
    return [
        _group(row) for row in session.scalars(sa.select(DeviceGroup).order_by(DeviceGroup.name))
    ]


def delete_group(session: Session, group_id: uuid.UUID, *, actor: str) -> None:
    """Remove a group (bulk actions made from it keep their own copy of the filter)."""
    row = session.get(DeviceGroup, group_id)
    if row is None:
        raise NotFoundError("no device group has this id")
    session.delete(row)
    session.flush()
    record(session, action="devices.group_deleted", actor=actor, details={"group": str(group_id)})


#: The distinct firmware versions of the fleet, one index probe each (a skip scan of
#: ``ix_device_registrations_fleet_firmware``): cheap while versions are few.
_PRESENT_VERSIONS = sa.text(
    """
    WITH RECURSIVE v(fw) AS (
        (SELECT firmware_version FROM device_registrations
          WHERE anonymised_at IS NULL AND firmware_version IS NOT NULL
          ORDER BY firmware_version LIMIT 1)
        UNION ALL
        SELECT (SELECT r.firmware_version FROM device_registrations r
                 WHERE r.anonymised_at IS NULL AND r.firmware_version > v.fw
                 ORDER BY r.firmware_version LIMIT 1)
          FROM v WHERE v.fw IS NOT NULL
    )
    SELECT fw FROM v WHERE fw IS NOT NULL
    """
)


def present_versions(session: Session) -> list[str]:
    """Every firmware version a device of the fleet reports now, in text order."""
    return list(session.scalars(_PRESENT_VERSIONS))


def fleet_conditions(
    found: DeviceFilter, session: Session | None = None
) -> list[sa.ColumnElement[bool]]:
    """The filter's conditions, on the fleet: registered devices not anonymised.

    With ``session``, a version range is resolved first to the versions present in it
    (:func:`present_versions`): ``firmware_version IN (…)`` instead of the version key
    computed on every row (bench/bench_fleet.py: five times faster on a broad range).
    """
    versions = None
    if session is not None and found.ranged:
        versions = [v for v in present_versions(session) if found.in_range(v)]
    return [DeviceRegistration.anonymised_at.is_(None), *found.conditions(versions)]


def members(found: DeviceFilter, session: Session | None = None) -> sa.Select[uuid.UUID]:
    """``SELECT device_id`` of the devices matching ``found``, in id order.

    With ``session`` a version range is resolved to the versions present first
    (:func:`fleet_conditions`); the select is then valid for that session's moment.
    """
    return (
        sa.select(DeviceRegistration.device_id)
        .where(*fleet_conditions(found, session))
        .order_by(DeviceRegistration.device_id)
    )


def resolve_group(session: Session, group_id: uuid.UUID) -> list[uuid.UUID]:
    """The ids of the group's members now, in id order (NotFoundError for an unknown group)."""
    return list(session.scalars(members(get_group(session, group_id).filter, session)))


def count_members(session: Session, found: DeviceFilter, *, cap: int = COUNT_CAP) -> int:
    """How many devices match ``found``, counted up to ``cap + 1`` (more means "more than cap")."""
    return count_matching(
        session, fleet_conditions(found, session), cap=cap, ordered=bool(found.tags)
    )


def count_matching(
    session: Session,
    conditions: list[sa.ColumnElement[bool]],
    *,
    cap: int = COUNT_CAP,
    ordered: bool = False,
) -> int:
    """How many registrations meet ``conditions``, counted up to ``cap + 1``.

    ``ordered`` counts the first ``cap + 1`` matches in id order: right for tag
    filters, so the planner walks the tags' primary key as the page does instead of
    hashing the whole fleet; without it the planner may take the cheapest index.
    Parallel workers are off for the count: starting them costs more than counting
    a thousand rows (bench/bench_fleet.py).
    """
    query = sa.select(DeviceRegistration.device_id).where(*conditions)
    if ordered:
        query = query.order_by(DeviceRegistration.device_id)
    limited = query.limit(cap + 1).subquery()
    session.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
    return int(session.scalar(sa.select(sa.func.count()).select_from(limited)) or 0)
