"""Maintenance windows in each device's own time zone (decision 0045), in the database.

Devices get zones as staff set them (:mod:`doorstep.devices.fleet.time_zones`); the
rollout's zone is the default.  The executor is played by
:func:`~tests.devices.rollout_factory.end_operation`;
``test_rollouts_zones_net.py`` runs the real one against simulated agents.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import InvalidInputError
from doorstep.core.runtime import Runtime
from doorstep.devices.fleet.operations import OperationState
from doorstep.devices.fleet.rollout_plan import (
    RolloutSpec,
    TargetFilter,
    start_order,
    window_opening,
)
from doorstep.devices.fleet.rollouts import create_rollout, start_rollout
from doorstep.devices.fleet.time_zones import (
    DeviceTimeZone,
    clear_zone,
    maintenance_zones,
    set_zone,
    zones_in_use,
)
from doorstep.devices.models import BindingEnd, BindMethod, DeviceBinding
from doorstep.privacy.requests.export import collect
from doorstep.privacy.restrictions.models import Restriction, RestrictionReason
from doorstep.schema import metadata
from doorstep.wiring import build_services
from tests.devices.rollout_factory import end_operation, fleet, image, open_operations
from tests.privacy.conftest import audit_rows, new_subject

ACTOR = "system:tests"
TOKYO = "<+09>-9"  # POSIX: nine hours east, no summer time
BERLIN = "CET-1CEST,M3.5.0,M10.5.0/3"
NIGHT = {"window_start": time(2, 0), "window_end": time(4, 0)}


def _rollout(db: Session, clock: FakeClock, devices: list[uuid.UUID], **plan: object) -> uuid.UUID:
    spec = RolloutSpec(
        name="zones",
        image_id=image(db, clock),
        target=TargetFilter(device_ids=tuple(devices)),
        **plan,  # type: ignore[arg-type]
    )
    rollout_id = create_rollout(db, spec, actor=ACTOR, clock=clock).id
    start_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    return rollout_id


def _waits(db: Session, rollout_id: uuid.UUID) -> dict[uuid.UUID, datetime | None]:
    return {op.device_id: op.not_before for op in open_operations(db, rollout_id)}


def test_at_one_instant_only_the_device_inside_its_own_window_may_start(
    db: Session, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 1, 15, 17, 30, tzinfo=UTC))  # 02:30 in Tokyo, 18:30 in Berlin
    tokyo, berlin, plain = fleet(db, clock, 3)
    set_zone(db, [tokyo], TOKYO, actor=ACTOR, clock=clock)
    set_zone(db, [berlin], BERLIN, actor=ACTOR, clock=clock)
    rollout_id = _rollout(db, clock, [tokyo, berlin, plain], canary_count=3, **NIGHT)
    assert _waits(db, rollout_id) == {
        tokyo: None,  # inside its window: the executor takes it now
        berlin: datetime(2026, 1, 16, 1, 0, tzinfo=UTC),  # 02:00 CET
        plain: datetime(2026, 1, 16, 2, 0, tzinfo=UTC),  # the rollout's zone: 02:00 UTC
    }
    # a device whose zone was cleared reads the window in the rollout's zone again
    clear_zone(db, [berlin], actor=ACTOR)
    clock.set(datetime(2026, 1, 16, 1, 30, tzinfo=UTC))  # 02:30 in Berlin, 01:30 UTC
    other = _rollout(db, clock, [berlin], **NIGHT)
    assert _waits(db, other) == {berlin: datetime(2026, 1, 16, 2, 0, tzinfo=UTC)}


def test_devices_inside_their_window_take_the_free_slots_before_those_still_waiting(
    db: Session, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 1, 15, 17, 30, tzinfo=UTC))  # 02:30 in Tokyo
    devices = fleet(db, clock, 6)
    night_now, soon, later = devices[:2], devices[2:4], devices[4:]
    set_zone(db, night_now, TOKYO, actor=ACTOR, clock=clock)
    set_zone(db, soon, "Asia/Kolkata", actor=ACTOR, clock=clock)  # 02:00 there at 20:30 UTC
    set_zone(db, later, BERLIN, actor=ACTOR, clock=clock)  # 02:00 there at 01:00 UTC
    rollout_id = _rollout(db, clock, devices, canary_count=6, max_in_flight=3, **NIGHT)
    waits = _waits(db, rollout_id)
    assert set(waits) == {*night_now, soon[0]} or set(waits) == {*night_now, soon[1]}
    assert waits[night_now[0]] is None and waits[night_now[1]] is None
    assert {wait for wait in waits.values() if wait} == {datetime(2026, 1, 15, 20, 30, tzinfo=UTC)}
    for op in open_operations(db, rollout_id):
        if op.not_before is None:
            end_operation(db, op, OperationState.SUCCEEDED, at=clock.now())
    waits = _waits(db, rollout_id)  # nobody's night now: the soonest to open come next
    assert set(waits) == set(soon) | {later[0]} or set(waits) == set(soon) | {later[1]}


def test_an_owner_who_restricted_maintenance_has_their_zone_left_unread(
    db: Session, clock: FakeClock
) -> None:
    [device] = fleet(db, clock, 1)
    set_zone(db, [device], TOKYO, actor=ACTOR, clock=clock)
    assert maintenance_zones(db, [device]) == {device: TOKYO}
    subject = _bind(db, clock, device)
    db.add(
        Restriction(
            subject_id=subject,
            purpose="device.maintenance",
            reason=RestrictionReason.OBJECTION,
            since=clock.now(),
        )
    )
    db.flush()
    assert maintenance_zones(db, [device]) == {}


def test_the_owners_export_holds_the_zone_while_the_device_is_theirs(
    db: Session, clock: FakeClock, runtime: Runtime
) -> None:
    [device] = fleet(db, clock, 1)
    set_zone(db, [device], BERLIN, actor=ACTOR, clock=clock)
    owner = _bind(db, clock, device)
    keys = build_services(runtime).keys
    [row] = collect(db, keys, metadata, owner)["device_time_zones"]
    assert (row["device_id"], row["time_zone"]) == (str(device), BERLIN)
    db.execute(
        sa.update(DeviceBinding)
        .where(DeviceBinding.device_id == device)
        .values(unbound_at=clock.now(), end_reason=BindingEnd.UNBOUND)
    )
    assert "device_time_zones" not in collect(db, keys, metadata, owner)


def test_zones_are_checked_set_replaced_cleared_and_audited_without_devices(
    db: Session, clock: FakeClock
) -> None:
    devices = fleet(db, clock, 3)
    stranger = uuid.uuid4()
    first = set_zone(db, [*devices[:2], stranger], "Europe/Berlin", actor=ACTOR, clock=clock)
    assert (first.zone, first.changed, first.unchanged, first.unknown) == ("Europe/Berlin", 2, 0, 1)
    again = set_zone(db, devices, " Europe/Berlin ", actor=ACTOR, clock=clock)
    assert (again.changed, again.unchanged) == (1, 2)
    moved = set_zone(db, devices[:1], BERLIN, actor=ACTOR, clock=clock)
    assert moved.changed == 1
    assert zones_in_use(db) == [("Europe/Berlin", 2), (BERLIN, 1)]
    cleared = clear_zone(db, [*devices, stranger], actor=ACTOR)
    assert (cleared.changed, cleared.unchanged, cleared.unknown) == (3, 0, 1)
    assert zones_in_use(db) == []
    audited = audit_rows(db, action="devices.zone_set") + audit_rows(
        db, action="devices.zone_cleared"
    )
    assert len(audited) == 4
    for event in audited:
        assert set(event.details) == {"changed", "unchanged", "unknown"}


@pytest.mark.parametrize("zone", ["Mars/Olympus", "CET-1CEST", "CET-1CEST,M3.5.0/200,M10.5.0", ""])
def test_a_bad_zone_is_refused_and_nothing_changes(
    db: Session, clock: FakeClock, zone: str
) -> None:
    devices = fleet(db, clock, 2)
    set_zone(db, devices[:1], "Europe/Berlin", actor=ACTOR, clock=clock)
    with pytest.raises(InvalidInputError) as refused:
        set_zone(db, devices, zone, actor=ACTOR, clock=clock)
    assert refused.value.fields["errors"] == [{"field": "time_zone", "rule": "time_zone"}]
    rows = db.execute(sa.select(DeviceTimeZone.device_id, DeviceTimeZone.time_zone)).all()
    assert [tuple(row) for row in rows] == [(devices[0], "Europe/Berlin")]
    with pytest.raises(InvalidInputError):
        set_zone(db, [], "Europe/Berlin", actor=ACTOR, clock=clock)


def test_the_start_order_falls_back_to_the_rollouts_zone_and_waits_soonest_first() -> None:
    now = datetime(2026, 7, 1, 0, 30, tzinfo=UTC)  # 02:30 in Berlin (summer), 09:30 Tokyo
    ids = [uuid.uuid4() for _ in range(4)]
    candidates = [(ids[0], TOKYO), (ids[1], None), (ids[2], BERLIN), (ids[3], "Gone/Zone")]
    grouped = start_order(
        now, candidates, 3, start=time(2), end=time(4), default_zone="Europe/Berlin"
    )
    # Berlin's window is open (its own zone, and the rollout's for the two others)
    assert grouped == {None: [ids[1], ids[2], ids[3]]}
    tokyo_opens = datetime(2026, 7, 1, 17, 0, tzinfo=UTC)
    assert start_order(
        now, candidates, 4, start=time(2), end=time(4), default_zone="Europe/Berlin"
    ) == {None: [ids[1], ids[2], ids[3]], tokyo_opens: [ids[0]]}
    no_window = start_order(now, candidates, 2, start=None, end=None, default_zone="UTC")
    assert no_window == {None: ids[:2]}
    assert start_order(now, candidates, 0, start=None, end=None, default_zone="UTC") == {}


def _bind(db: Session, clock: FakeClock, device: uuid.UUID) -> uuid.UUID:
    subject = new_subject(db)
    db.add(
        DeviceBinding(
            id=uuid.uuid4(),
            device_id=device,
            subject_id=subject,
            method=BindMethod.QR,
            bound_at=clock.now() - timedelta(days=1),
        )
    )
    db.flush()
    return subject


@pytest.mark.parametrize(
    ("now", "start", "opens"),
    [
        # spring forward: 02:30 does not exist; it opens with the offset before the gap
        (
            datetime(2026, 3, 28, 12, tzinfo=UTC),
            time(2, 30),
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        ),
        # fall back: 02:30 comes twice; the window opens at the first
        (
            datetime(2026, 10, 24, 12, tzinfo=UTC),
            time(2, 30),
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        ),
        (datetime(2026, 7, 1, 12, tzinfo=UTC), time(2, 0), datetime(2026, 7, 2, 0, 0, tzinfo=UTC)),
    ],
)
def test_a_window_in_a_posix_zone_opens_where_the_same_iana_zone_opens_it(
    now: datetime, start: time, opens: datetime
) -> None:
    for zone in (BERLIN, "Europe/Berlin"):
        assert window_opening(now, start, time(4), zone) == opens
