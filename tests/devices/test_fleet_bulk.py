"""Bulk actions in the database: throttled batches, once per device, cancel, and refusals.

The executor is played by hand here (an operation is ended and its origin callback
called, as the executor does in the operation's final transaction); the bulk reboot
through real agents is in test_fleet_bulk_agents.py.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError
from doorstep.devices.fleet.bulk import Target, bulk_results, cancel_bulk, get_bulk, start_bulk
from doorstep.devices.fleet.bulk_args import ParameterRefusedError
from doorstep.devices.fleet.bulk_models import BulkState
from doorstep.devices.fleet.bulk_progress import on_done, progress
from doorstep.devices.fleet.filters import DeviceFilter
from doorstep.devices.fleet.groups import create_group
from doorstep.devices.fleet.operations import DeviceOperation, OperationKind, OperationState
from tests.devices.fleet_rows import add_devices
from tests.packs import reference_pack

ACTOR = "system:cli"
ALLOWED = reference_pack().bulk_parameters


def _ops(db: Session, bulk_id: uuid.UUID) -> list[DeviceOperation]:
    return list(
        db.scalars(
            sa.select(DeviceOperation)
            .where(DeviceOperation.origin_id == bulk_id)
            .order_by(DeviceOperation.device_id)
        )
    )


def _finish(db: Session, op: DeviceOperation, state: OperationState, clock: FakeClock) -> None:
    """What the executor does at an operation's end: the final state, then the callback."""
    op.state, op.finished_at = state, clock.now()
    op.reason = "device_error" if state is OperationState.FAILED else None
    db.flush()
    on_done(db, op)


def _open(db: Session, bulk_id: uuid.UUID) -> list[DeviceOperation]:
    return [op for op in _ops(db, bulk_id) if op.state is OperationState.QUEUED]


def test_a_bulk_reboot_runs_in_throttled_batches_once_per_device_until_finished(
    db: Session, clock: FakeClock
) -> None:
    devices = add_devices(db, 10, now=clock.now(), model="R9")
    add_devices(db, 3, now=clock.now(), model="Other")
    group = create_group(db, "all R9", {"model": "R9"}, actor=ACTOR, clock=clock)
    view = start_bulk(
        db,
        OperationKind.REBOOT,
        {},
        Target.of(group),
        allowed=ALLOWED,
        max_in_flight=3,
        per_minute=5,
        actor=ACTOR,
        clock=clock,
    )
    assert (view.total, view.queued, view.purpose) == (10, 3, "device.maintenance")
    first = _ops(db, view.id)
    assert [op.device_id for op in first] == devices[:3]
    assert {(op.kind, op.purpose, op.actor) for op in first} == {
        (OperationKind.REBOOT, "device.maintenance", ACTOR)
    }
    _finish(db, first[0], OperationState.SUCCEEDED, clock)  # a slot frees: one more
    _finish(db, first[1], OperationState.FAILED, clock)  # and another: 5 this minute
    assert get_bulk(db, view.id).queued == 5
    _finish(db, first[2], OperationState.SUCCEEDED, clock)
    assert get_bulk(db, view.id).queued == 5  # the minute's five are out: nothing more
    progress(db, clock.now())
    assert get_bulk(db, view.id).queued == 5
    for _ in range(4):
        clock.advance(timedelta(minutes=1))
        progress(db, clock.now())  # the sweep opens the next minute's window
        for op in _open(db, view.id):
            _finish(db, op, OperationState.SUCCEEDED, clock)
    done = get_bulk(db, view.id)
    assert done.state is BulkState.FINISHED and done.finished_at is not None
    assert (done.queued, done.succeeded, done.failed, done.open) == (10, 9, 1, 0)
    ops = _ops(db, view.id)
    assert sorted(op.device_id for op in ops) == devices  # each device once, none other
    results = bulk_results(db, view.id, limit=4)
    assert [r.device_id for r in results] == devices[:4]
    assert bulk_results(db, view.id, state=OperationState.FAILED)[0].reason == "device_error"
    rest = bulk_results(db, view.id, after=results[-1].device_id)
    assert [r.device_id for r in rest] == devices[4:]
    progress(db, clock.now())  # a finished action releases nothing more
    assert len(_ops(db, view.id)) == 10


def test_a_cancelled_bulk_action_cancels_what_is_queued_and_releases_nothing_more(
    db: Session, clock: FakeClock
) -> None:
    add_devices(db, 6, now=clock.now(), model="R9")
    view = start_bulk(
        db,
        OperationKind.REBOOT,
        {},
        Target(DeviceFilter.parse({"model": "R9"})),
        allowed=ALLOWED,
        max_in_flight=4,
        per_minute=100,
        actor=ACTOR,
        clock=clock,
    )
    ops = _ops(db, view.id)
    ops[0].state = OperationState.RUNNING  # one is in flight: it ends on its own
    db.flush()
    cancelled = cancel_bulk(db, view.id, actor=ACTOR, clock=clock)
    assert cancelled.state is BulkState.CANCELLED and cancelled.cancelled == 3
    with pytest.raises(ConflictError):
        cancel_bulk(db, view.id, actor=ACTOR, clock=clock)
    _finish(db, ops[0], OperationState.SUCCEEDED, clock)
    clock.advance(timedelta(minutes=5))
    progress(db, clock.now())
    after = get_bulk(db, view.id)
    assert (after.queued, after.succeeded, after.cancelled, after.open) == (4, 1, 3, 0)
    assert len(_ops(db, view.id)) == 4


def _nothing_stored(db: Session) -> None:
    for table in ("bulk_actions", "device_operations"):
        assert db.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == 0


def _set(db: Session, clock: FakeClock, parameters: dict[str, object]) -> None:
    start_bulk(
        db,
        OperationKind.SET_PARAMETERS,
        {"parameters": parameters},
        Target(DeviceFilter()),
        allowed=ALLOWED,
        max_in_flight=10,
        per_minute=10,
        actor=ACTOR,
        clock=clock,
    )


@pytest.mark.clause("CPE-I.iii.R1")
def test_a_bulk_set_of_a_pppoe_parameter_is_refused_naming_the_path_and_nothing_is_queued(
    db: Session, clock: FakeClock
) -> None:
    add_devices(db, 3, now=clock.now())
    path = "Device.PPP.Interface.1.Password"
    with pytest.raises(ParameterRefusedError) as refused:
        _set(db, clock, {"Device.Time.NTPServer1": "ntp.example.net", path: "hunter2"})
    assert refused.value.fields["path"] == path and path in refused.value.detail
    assert "hunter2" not in str(refused.value.fields) + refused.value.detail
    assert refused.value.status == 422
    _nothing_stored(db)


@pytest.mark.parametrize(
    "path",
    [
        "Device.WiFi.SSID.1.SSID",
        "Device.WiFi.AccessPoint.1.Security.KeyPassphrase",
        "Device.Hosts.Host.1.HostName",
        "Device.PPP.Interface.1.Username",
        "Device.Time.NTPServer9",  # not personal, but not on the allow-list either
    ],
)
def test_a_bulk_set_of_a_wifi_or_hosts_parameter_is_refused_naming_the_path(
    db: Session, clock: FakeClock, path: str
) -> None:
    add_devices(db, 2, now=clock.now())
    with pytest.raises(ParameterRefusedError) as refused:
        _set(db, clock, {path: "x"})
    assert refused.value.fields["errors"] == [{"field": path, "rule": "bulk_parameters"}]
    _nothing_stored(db)


def test_an_allowed_parameter_is_queued_with_its_value_for_each_device(
    db: Session, clock: FakeClock
) -> None:
    devices = add_devices(db, 2, now=clock.now())
    _set(db, clock, {"Device.LocalAgent.Controller.1.PeriodicNotifInterval": 300})
    ops = list(db.scalars(sa.select(DeviceOperation).order_by(DeviceOperation.device_id)))
    assert [op.device_id for op in ops] == devices
    assert ops[0].args == {
        "parameters": {"Device.LocalAgent.Controller.1.PeriodicNotifInterval": "300"}
    }


@pytest.mark.parametrize(
    ("kind", "args", "throttle", "field"),
    [
        (OperationKind.WIPE_SETTINGS, {}, (1, 1), "kind"),
        (OperationKind.REBOOT, {}, (0, 1), "max_in_flight"),
        (OperationKind.REBOOT, {}, (1, 100_001), "per_minute"),
        (OperationKind.FIRMWARE_UPDATE, {"image_id": str(uuid.uuid4())}, (1, 1), "image_id"),
        (OperationKind.FIRMWARE_UPDATE, {"image_id": "nope"}, (1, 1), "image_id"),
        (OperationKind.DIAGNOSTIC, {"test": "nmap", "host": "x"}, (1, 1), "test"),
        (OperationKind.DIAGNOSTIC, {"test": "ping", "host": "a b"}, (1, 1), "host"),
        (OperationKind.SET_PARAMETERS, {"parameters": {}}, (1, 1), "parameters"),
        (
            OperationKind.SET_PARAMETERS,
            {"parameters": {"Device.Time.NTPServer1": "a\nb"}},
            (1, 1),
            "Device.Time.NTPServer1",
        ),
    ],
)
def test_bad_bulk_requests_are_refused_and_store_nothing(
    db: Session,
    clock: FakeClock,
    kind: OperationKind,
    args: dict[str, object],
    throttle: tuple[int, int],
    field: str,
) -> None:
    add_devices(db, 2, now=clock.now())
    with pytest.raises(InvalidInputError) as refused:
        start_bulk(
            db,
            kind,
            args,
            Target(DeviceFilter()),
            allowed=ALLOWED,
            max_in_flight=throttle[0],
            per_minute=throttle[1],
            actor=ACTOR,
            clock=clock,
        )
    assert refused.value.fields["errors"][0]["field"] == field
    _nothing_stored(db)
