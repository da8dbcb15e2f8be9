"""The fleet list: a filtered page of devices for operators, fast at a million devices.

:func:`fleet_page` answers one page of the devices matching a
:class:`~.filters.DeviceFilter`, in device-id order, after a cursor (keyset
pagination: ``WHERE device_id > :after ORDER BY device_id LIMIT n``, never ``OFFSET``,
so page 1,000 costs what page 1 costs), with a count that stops at
:data:`~.groups.COUNT_CAP`.  The indexes of migration 0035 serve the filters
(``model`` with ``firmware_version``, ``firmware_version``, the version key, the
tags' primary key); ``bench/bench_fleet.py`` measures it.

What a row shows is the technical view of a unit: its id, product type, online
state and tags (not personal), and its model and firmware version, which are
registration data (CPE-I.ii.1.a).  Those two are read for ``device.maintenance``
(after-sales service, CPE-I.ii.1.b): only when the data map declares them for that
purpose, and not for a device whose owner restricted that purpose (the row says
"restricted" instead).  Serial number, MAC, IP address, endpoint id and times are
never read here: the device's own page reads them one by one through ``staff_read``.
One audit record per page names the purpose, the criteria (names only) and the
number of rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.devices.fleet.filters import DeviceFilter
from doorstep.devices.fleet.groups import COUNT_CAP, count_matching, fleet_conditions
from doorstep.devices.fleet.tags import tags_of
from doorstep.devices.models import DeviceBinding, DeviceRegistration, ProductType
from doorstep.privacy.purposes import PurposeGate
from doorstep.privacy.restrictions.models import Restriction

PURPOSE = "device.maintenance"
#: The registration elements a fleet row shows, read for :data:`PURPOSE`.
ELEMENTS = ("device_registrations.model", "device_registrations.firmware_version")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class FleetRow:
    """One device of the list: the technical view (model and firmware unless withheld)."""

    device_id: uuid.UUID
    product_type: ProductType | None
    online: bool
    tags: tuple[str, ...]
    model: str | None
    firmware_version: str | None
    withheld: bool = False
    """Model and firmware not shown: the owner restricted maintenance, or no declaration."""


@dataclass(frozen=True, slots=True)
class FleetPage:
    """A page of the list, the cursor of the next page, and the capped count of matches."""

    rows: tuple[FleetRow, ...]
    next_after: uuid.UUID | None
    count: int | None
    """Matches counted up to the cap; None when not asked (a page after the first)."""
    capped: bool


def readable(gate: PurposeGate) -> bool:
    """Whether the data map declares model and firmware for :data:`PURPOSE`."""
    return all(gate.basis(element, PURPOSE) is not None for element in ELEMENTS)


def restricted_devices(session: Session, device_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """The devices among ``device_ids`` whose owner has restricted :data:`PURPOSE`."""
    if not device_ids:
        return set()
    rows = session.scalars(
        sa.select(DeviceBinding.device_id)
        .join(Restriction, Restriction.subject_id == DeviceBinding.subject_id)
        .where(
            DeviceBinding.device_id.in_(list(device_ids)),
            DeviceBinding.unbound_at.is_(None),
            Restriction.purpose == PURPOSE,
            Restriction.lifted_at.is_(None),
        )
    )
    return set(rows)


def fleet_page(
    session: Session,
    gate: PurposeGate,
    found: DeviceFilter,
    *,
    actor: str,
    after: uuid.UUID | None = None,
    limit: int = PAGE_SIZE,
    count_cap: int = COUNT_CAP,
    may_read: bool = True,
    count: bool = True,
) -> FleetPage:
    """One page of the devices matching ``found`` after ``after``, audited once.

    ``may_read`` False (a staff role without a read grant for :data:`PURPOSE`)
    withholds model and firmware on every row.  ``count`` False skips the count (it
    does not change from page to page, and costs more than a page: callers count on
    the first page only).
    """
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    reg = DeviceRegistration
    conditions = fleet_conditions(found, session)
    query = sa.select(
        reg.device_id, reg.product_type, reg.online, reg.model, reg.firmware_version
    ).where(*conditions)
    if after is not None:
        query = query.where(reg.device_id > after)
    rows = session.execute(query.order_by(reg.device_id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [row.device_id for row in rows]
    tags = tags_of(session, ids)
    allowed = may_read and readable(gate)
    withheld = restricted_devices(session, ids) if allowed else set(ids)
    matches = (
        count_matching(session, conditions, cap=count_cap, ordered=bool(found.tags))
        if count
        else None
    )
    record(
        session,
        action="devices.fleet_listed",
        actor=actor,
        purpose=PURPOSE,
        element="device_registrations",
        details={
            "rows": len(rows),
            "withheld": len(withheld),
            "criteria": ":".join(found.to_json()) or "all",
        },
    )
    return FleetPage(
        rows=tuple(
            FleetRow(
                device_id=row.device_id,
                product_type=row.product_type,
                online=bool(row.online),
                tags=tuple(tags[row.device_id]),
                model=None if row.device_id in withheld else row.model,
                firmware_version=None if row.device_id in withheld else row.firmware_version,
                withheld=row.device_id in withheld,
            )
            for row in rows
        ),
        next_after=ids[-1] if more else None,
        count=None if matches is None else min(matches, count_cap),
        capped=matches is not None and matches > count_cap,
    )
