"""Devices' own time zones (``device_time_zones``): set by staff, read by rollouts' windows.

A rollout's maintenance window is local time in each device's own zone, or in the
rollout's zone for a device without one (decision 0045).  Staff set a device's zone
(``doorstep devices zone``): an IANA name (``Europe/Berlin``) or the POSIX TZ string the
router or the provisioning system shows (``CET-1CEST,M3.5.0,M10.5.0/3``), checked by
:func:`doorstep.core.zones.check_zone`.  Doorstep does not read it from the device:
``Device.Time.LocalTimeZone`` is none of the six registration fields (CPE-I.ii.1.a) nor
of the device information the corporate policy lists (CORP-1.10).

The zone of a home router says roughly where its owner lives, so ``time_zone`` is
personal data (``user.location.imprecise``) while the device is bound: it serves
``device.maintenance`` only, is part of the owner's export, and lives as long as the
registration record (deleted with the ``device_registration`` rule, two years after the
device went offline).

Contract:

* :func:`set_zone` sets (or replaces) the zone of each registered device named; devices
  without a registration record are counted as ``unknown``.  Bad zone text or ids: an
  InvalidInputError and nothing changes.
* :func:`clear_zone` removes it (the device goes back to each rollout's zone).
* :func:`maintenance_zone` (an SQL expression, for the rollout engine's candidate query)
  and :func:`maintenance_zones` — devices' zones for ``device.maintenance``: a device
  whose owner restricted that purpose has none (its rollouts' zone applies).
* :func:`zones_in_use` — each zone set and how many devices have it (no device named).
* Each change is audited once with counts: never a list of devices, nor the zone (the
  audit trail keeps names and ids only, and a zone is not one).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.models import Base
from doorstep.core.zones import MAX_LENGTH, check_zone
from doorstep.devices._declare import REGISTRATION_RULE
from doorstep.devices.fleet.tags import checked_devices, registered_devices
from doorstep.devices.models import DeviceBinding
from doorstep.privacy.restrictions.models import Restriction
from doorstep.privacy.retention.binding import DELETE, Binding, Via, retention_info
from doorstep.privacy.subjects.linkage import LINK_KEY, Through
from doorstep.vocabulary import LegalBasis, not_personal, personal

PURPOSE = "device.maintenance"
"""The one purpose a device's zone is used for: when its firmware updates may start."""


class DeviceTimeZone(Base):
    """The time zone staff set for one registered device."""

    __tablename__ = "device_time_zones"

    device_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("device_registrations.device_id", ondelete="CASCADE"),
        primary_key=True,
        info=not_personal(
            "the unit's inventory id (as devices.id); what links a unit to a person is in "
            "device_bindings",
            export=True,
        ),
    )
    time_zone: Mapped[str] = mapped_column(
        sa.Text,
        info=personal(
            "user.location.imprecise",
            purposes=[PURPOSE, "privacy.rights"],
            legal_basis=LegalBasis.CONTRACT,
            retention=REGISTRATION_RULE,
            clauses=["CPE-I.ii.1.b"],
            description=(
                "The time zone of your device, set by our staff, so that its firmware "
                "updates start in its maintenance window at your local time."
            ),
        ),
    )
    set_at: Mapped[datetime] = mapped_column(
        info=not_personal("when staff set the zone", export=True)
    )
    set_by: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the staff or system actor who set it (staff:<id>, system:…)")
    )

    __table_args__ = (
        sa.CheckConstraint(
            f"char_length(time_zone) BETWEEN 1 AND {MAX_LENGTH}", name="time_zone_length"
        ),
        {
            "info": {
                **retention_info(
                    Binding(
                        REGISTRATION_RULE,
                        DELETE,
                        trigger=Via("device_id", "offline_since"),
                        offset_setting="device_offline_after_seconds",
                    )
                ),
                LINK_KEY: Through("device_id", "device_bindings", "device_id", "unbound_at"),
            }
        },
    )


@dataclass(frozen=True, slots=True)
class ZoneChange:
    """What one set or clear call did: the zone (None: cleared) and counts."""

    zone: str | None
    changed: int
    unchanged: int
    unknown: int


def set_zone(
    session: Session, device_ids: Iterable[uuid.UUID], zone: str, *, actor: str, clock: Clock
) -> ZoneChange:
    """Set ``zone`` on each registered device of ``device_ids`` (audited once)."""
    zone = check_zone(zone)
    ids = checked_devices(device_ids)
    known = registered_devices(session, ids)
    changed = 0
    if known:
        now = clock.now()
        rows = [{"device_id": d, "time_zone": zone, "set_at": now, "set_by": actor} for d in known]
        statement = (
            insert(DeviceTimeZone)
            .values(rows)
            .on_conflict_do_update(
                index_elements=[DeviceTimeZone.device_id],
                set_={"time_zone": zone, "set_at": now, "set_by": actor},
                where=DeviceTimeZone.time_zone != zone,
            )
            .returning(DeviceTimeZone.device_id)
        )
        changed = len(session.execute(statement).all())
    change = ZoneChange(zone, changed, len(known) - changed, len(ids) - len(known))
    _audit(session, "devices.zone_set", change, actor)
    return change


def clear_zone(session: Session, device_ids: Iterable[uuid.UUID], *, actor: str) -> ZoneChange:
    """Remove the zone of each device of ``device_ids`` that has one (audited once)."""
    ids = checked_devices(device_ids)
    known = registered_devices(session, ids)
    removed = session.execute(
        sa.delete(DeviceTimeZone)
        .where(DeviceTimeZone.device_id.in_(ids))
        .returning(DeviceTimeZone.device_id)
    ).all()
    change = ZoneChange(None, len(removed), len(known) - len(removed), len(ids) - len(known))
    _audit(session, "devices.zone_cleared", change, actor)
    return change


def _restricted(device_id: sa.ColumnElement[uuid.UUID] | Mapped[uuid.UUID]) -> sa.Exists:
    """SQL: the owner of ``device_id`` (its open binding) restricted :data:`PURPOSE`."""
    return sa.exists().where(
        DeviceBinding.device_id == device_id,
        DeviceBinding.unbound_at.is_(None),
        Restriction.subject_id == DeviceBinding.subject_id,
        Restriction.purpose == PURPOSE,
        Restriction.lifted_at.is_(None),
    )


def maintenance_zone(
    device_id: sa.ColumnElement[uuid.UUID] | Mapped[uuid.UUID],
) -> sa.ScalarSelect[str]:
    """SQL: the zone of ``device_id`` for :data:`PURPOSE` (NULL: none, or restricted)."""
    zone = DeviceTimeZone
    return (
        sa.select(zone.time_zone)
        .where(zone.device_id == device_id, ~_restricted(zone.device_id))
        .scalar_subquery()
    )


def maintenance_zones(session: Session, device_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Device id -> its zone for :data:`PURPOSE`, for the devices given that have one.

    A device whose owner restricted that purpose is left out: its zone is not read, and
    the rollout's own zone applies to it.
    """
    if not device_ids:
        return {}
    zone = DeviceTimeZone
    rows = session.execute(
        sa.select(zone.device_id, zone.time_zone).where(
            zone.device_id.in_(list(device_ids)), ~_restricted(zone.device_id)
        )
    ).all()
    return {row.device_id: row.time_zone for row in rows}


def zones_in_use(session: Session, *, limit: int = 200) -> list[tuple[str, int]]:
    """Each zone set and how many devices have it, most used first."""
    count = sa.func.count().label("devices")
    rows = session.execute(
        sa.select(DeviceTimeZone.time_zone, count)
        .group_by(DeviceTimeZone.time_zone)
        .order_by(count.desc(), DeviceTimeZone.time_zone)
        .limit(limit)
    )
    return [(zone, int(devices)) for zone, devices in rows]


def _audit(session: Session, action: str, change: ZoneChange, actor: str) -> None:
    record(
        session,
        action=action,
        actor=actor,
        purpose=PURPOSE,
        element="device_time_zones.time_zone",
        details={
            "changed": change.changed,
            "unchanged": change.unchanged,
            "unknown": change.unknown,
        },
    )
