"""The queue of device operations on real PostgreSQL: queueing, claims, leases, deadlines.

No device here: the claims, the records of outcomes and the sweep are what every
executor and worker share (decision 0038).
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.runtime import Runtime
from doorstep.devices.fleet import operations
from doorstep.devices.fleet.handlers.base import Proceed, Wait, failed, succeeded
from doorstep.devices.fleet.operations import (
    DeviceOperation,
    OperationKind,
    OperationState,
    Origin,
    OriginKind,
    Reason,
    queue_operations,
)
from doorstep.devices.fleet.records import (
    Reach,
    claim_checks,
    claim_due,
    mark_sending,
    record_outcome,
    take_waiting,
)
from doorstep.devices.fleet.sweep import fleet_sweep
from doorstep.devices.models import REGISTRATION_SOURCE, Device, DeviceRegistration

LEASE = timedelta(seconds=30)
MQTT = Reach(mqtt=True)


def _device(session: Session, now: Any, *, online: bool = True, mtp: str = "mqtt") -> uuid.UUID:
    device = Device(
        id=uuid.uuid4(),
        endpoint_key=uuid.uuid4().bytes,
        secret_hash="x",
        claim_hash=uuid.uuid4().bytes,
        provisioned_at=now,
    )
    session.add(device)
    session.flush()
    session.add(
        DeviceRegistration(
            device_id=device.id,
            endpoint_id=f"os::000000-{device.id.hex[:12]}",
            mtp=mtp,
            registered_at=now,
            refreshed_at=now,
            last_seen=now,
            online=online,
            source=REGISTRATION_SOURCE,
        )
    )
    session.flush()
    return device.id


def _queue(session: Session, clock: FakeClock, devices: list[uuid.UUID], **kwargs: Any) -> int:
    values: dict[str, Any] = {
        "purpose": "device.maintenance",
        "actor": "system:test",
        "origin_kind": OriginKind.BULK,
        "origin_id": uuid.uuid4(),
        "clock": clock,
    }
    values.update(kwargs)
    return queue_operations(session, devices, OperationKind.REBOOT, {}, **values)


def _claim(session: Session, clock: FakeClock, owner: str = "a", limit: int = 10) -> list[Any]:
    return claim_due(session, owner=owner, now=clock.now(), lease=LEASE, limit=limit, reach=MQTT)


def _state(session: Session, device_id: uuid.UUID) -> list[str]:
    rows = session.scalars(
        sa.select(DeviceOperation.state)
        .where(DeviceOperation.device_id == device_id)
        .order_by(DeviceOperation.created_at, DeviceOperation.id)
    )
    return [state.value for state in rows]


def test_one_origin_queues_a_device_once_even_when_asked_again(
    db: Session, clock: FakeClock
) -> None:
    devices = [_device(db, clock.now()) for _ in range(3)]
    origin = uuid.uuid4()
    assert _queue(db, clock, devices, origin_id=origin) == 3
    assert _queue(db, clock, [*devices, devices[0]], origin_id=origin) == 0  # a retried wave
    assert _queue(db, clock, devices[:1]) == 1  # another origin may
    assert db.scalar(sa.select(sa.func.count()).select_from(DeviceOperation)) == 4


def test_a_device_runs_one_operation_at_a_time_the_next_waits_behind_it(
    db: Session, clock: FakeClock
) -> None:
    device = _device(db, clock.now())
    _queue(db, clock, [device])
    clock.advance(timedelta(seconds=1))
    _queue(db, clock, [device])
    first = _claim(db, clock)
    assert len(first) == 1 and _claim(db, clock, owner="b") == []
    assert _state(db, device) == ["running", "queued"]
    record_outcome(db, first[0].op.id, succeeded(), owner="a", now=clock.now(), check_seconds=60)
    second = _claim(db, clock, owner="b")
    assert [c.op.id for c in second] != [first[0].op.id] and len(second) == 1
    assert _state(db, device) == ["succeeded", "running"]


def test_the_partial_unique_index_refuses_two_operations_in_flight(
    db: Session, clock: FakeClock
) -> None:
    device = _device(db, clock.now())
    _queue(db, clock, [device])
    _queue(db, clock, [device])
    with pytest.raises(sa.exc.IntegrityError, match="uq_device_operations_active_device"):
        db.execute(sa.update(DeviceOperation).values(state=OperationState.RUNNING))


def test_only_reachable_due_devices_are_claimed(db: Session, clock: FakeClock) -> None:
    ready = _device(db, clock.now())
    offline = _device(db, clock.now(), online=False)
    websocket = _device(db, clock.now(), mtp="websocket")
    later = _device(db, clock.now())
    _queue(db, clock, [ready, offline, websocket])
    _queue(db, clock, [later], not_before=clock.now() + timedelta(hours=1))
    claimed = {c.op.device_id for c in _claim(db, clock)}
    assert claimed == {ready}
    endpoint = db.scalar(
        sa.select(DeviceRegistration.endpoint_id).where(DeviceRegistration.device_id == websocket)
    )
    assert endpoint is not None
    held = claim_due(
        db, owner="ws", now=clock.now(), lease=LEASE, limit=5, reach=Reach(False, (endpoint,))
    )
    assert [c.op.device_id for c in held] == [websocket]


def test_two_executors_claiming_at_once_never_share_a_device(committed: Runtime) -> None:
    clock = committed.clock
    with committed.sessions.begin() as session:
        devices = [_device(session, clock.now()) for _ in range(40)]
        for _ in range(3):  # three origins: three queued operations per device
            _queue(session, clock, devices)  # type: ignore[arg-type]
    got: dict[str, list[uuid.UUID]] = {}
    barrier = threading.Barrier(4)

    def executor(owner: str) -> None:
        barrier.wait()
        mine: list[uuid.UUID] = []
        for _ in range(5):
            with committed.sessions.begin() as session:
                claimed = claim_due(
                    session, owner=owner, now=clock.now(), lease=LEASE, limit=8, reach=MQTT
                )
            mine += [c.op.device_id for c in claimed]
        got[owner] = mine

    threads = [threading.Thread(target=executor, args=(f"e{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    every = [device for mine in got.values() for device in mine]
    assert len(every) == len(set(every)) == 40  # each device once, by one executor


def test_a_lapsed_lease_requeues_what_was_never_sent_and_waits_on_what_was(
    committed: Runtime,
) -> None:
    clock = committed.clock
    with committed.sessions.begin() as session:
        never, sent = _device(session, clock.now()), _device(session, clock.now())
        _queue(session, clock, [never, sent])  # type: ignore[arg-type]
        claimed = {c.op.device_id: c.op.id for c in _claim(session, clock)}  # type: ignore[arg-type]
        assert mark_sending(
            session, claimed[sent], owner="a", step="reboot", result={}, now=clock.now()
        )
    clock.advance(LEASE + timedelta(seconds=1))  # the executor died
    result = fleet_sweep(committed)
    assert (result.requeued, result.waiting, result.timed_out) == (1, 1, 0)
    with committed.sessions() as session:
        assert _state(session, never) == ["queued"]
        assert _state(session, sent) == ["waiting"]
        row = session.get(DeviceOperation, claimed[sent])
        assert row is not None and row.lease_owner is None and row.check_at == clock.now()
        # the dead executor's late answer changes nothing
        assert (
            record_outcome(
                session, claimed[sent], succeeded(), owner="a", now=clock.now(), check_seconds=60
            )
            is None
        )


def test_deadlines_end_open_operations_once_and_their_origin_hears_it(
    committed: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    heard: list[tuple[str, str | None]] = []

    def on_done(session: Session, op: DeviceOperation) -> None:
        heard.append((op.state.value, op.reason))

    monkeypatch.setitem(operations._ORIGINS, OriginKind.SINGLE, Origin(on_done))
    clock = committed.clock
    with committed.sessions.begin() as session:
        queued, waiting = _device(session, clock.now()), _device(session, clock.now())
        kwargs: dict[str, Any] = {"origin_kind": OriginKind.SINGLE, "deadline_seconds": 60}
        _queue(session, clock, [queued, waiting], **kwargs)  # type: ignore[arg-type]
        op = next(c.op for c in _claim(session, clock) if c.op.device_id == waiting)  # type: ignore[arg-type]
        mark_sending(session, op.id, owner="a", step="reboot", result={}, now=clock.now())
        record_outcome(session, op.id, Wait("reboot"), owner="a", now=clock.now(), check_seconds=5)
        session.execute(
            sa.update(DeviceOperation)
            .where(DeviceOperation.device_id == queued)
            .values(state=OperationState.QUEUED, lease_owner=None, lease_until=None)
        )
    clock.advance(timedelta(seconds=59))
    assert fleet_sweep(committed).timed_out == 0
    clock.advance(timedelta(seconds=2))
    assert fleet_sweep(committed).timed_out == 2
    assert fleet_sweep(committed).timed_out == 0
    assert sorted(heard) == [
        ("failed", Reason.DEVICE_TIMEOUT.value),
        ("failed", Reason.UNREACHABLE.value),
    ]
    query = sa.text(
        "SELECT count(*) FROM audit_events WHERE action = 'fleet.operation_ended' "
        "AND details->>'reason' IN ('device_timeout', 'unreachable')"
    )
    with committed.engine.connect() as connection:
        assert connection.execute(query).scalar_one() == 2


def test_a_waiting_operation_is_checked_when_its_time_comes(db: Session, clock: FakeClock) -> None:
    device = _device(db, clock.now())
    _queue(db, clock, [device])
    op = _claim(db, clock)[0].op
    record_outcome(db, op.id, Wait("reboot"), owner="a", now=clock.now(), check_seconds=30)
    check = claim_checks(db, owner="b", now=clock.now(), lease=LEASE, limit=5, reach=MQTT)
    assert check == []
    clock.advance(timedelta(seconds=31))
    check = claim_checks(db, owner="b", now=clock.now(), lease=LEASE, limit=5, reach=MQTT)
    assert [c.op.id for c in check] == [op.id] and check[0].op.step == "reboot"
    done = record_outcome(
        db, op.id, failed(Reason.DEVICE_ERROR, usp_code=7002, fault="x" * 900), owner="b",
        now=clock.now(), check_seconds=30,
    )  # fmt: skip
    assert done is not None and done.usp_code == 7002 and len(done.fault or "") == 500


def test_a_step_the_device_reported_is_due_for_a_check_at_once(
    db: Session, clock: FakeClock
) -> None:
    """``Proceed``: the step reached is recorded and the next check (which sends) is due now."""
    device = _device(db, clock.now())
    _queue(db, clock, [device])
    op = _claim(db, clock)[0].op
    assert mark_sending(db, op.id, owner="a", step="download", result={}, now=clock.now())
    record_outcome(db, op.id, Wait("download"), owner="a", now=clock.now(), check_seconds=600)
    assert claim_checks(db, owner="b", now=clock.now(), lease=LEASE, limit=5, reach=MQTT) == []
    held = take_waiting(db, device, "os::x", owner="a", now=clock.now(), lease=LEASE)
    assert not isinstance(held, bool) and held.op.id == op.id  # a notification's resume
    row = record_outcome(
        db, op.id, Proceed("downloaded", {"n": 1}), owner="a", now=clock.now(), check_seconds=600
    )
    assert row is not None and row.state is OperationState.WAITING and row.lease_owner is None
    assert (row.step, row.check_at, row.result["n"]) == ("downloaded", clock.now(), 1)
    check = claim_checks(db, owner="b", now=clock.now(), lease=LEASE, limit=5, reach=MQTT)
    assert [c.op.id for c in check] == [op.id] and check[0].op.step == "downloaded"
