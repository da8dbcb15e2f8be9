"""Erasure of many subjects in one statement: the same result as one by one, each all-or-nothing."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import flush_events
from doorstep.core.clock import FakeClock
from doorstep.devices.fleet.operation_codes import OperationKind, OperationState, OriginKind
from doorstep.devices.fleet.operations import DeviceOperation
from doorstep.keys.services import KeyService
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.erasure import erase_subject, tombstones
from doorstep.privacy.requests.erasure_batch import erase_subjects
from doorstep.privacy.requests.export import collect
from doorstep.privacy.subjects.models import Subject
from doorstep.schema import metadata
from tests.holds.conftest import hold
from tests.requests.conftest import STAFF, bound_device, new_account, refuse_erasure_of
from tests.requests.test_erasure import left_of


def _subscriber(db: Session, keys: KeyService, clock: FakeClock, devices: int) -> uuid.UUID:
    """A subscriber with ``devices`` bound devices, each with a reboot on record (a table
    linked to its subject only through the device's binding)."""
    subject = new_account(db, keys, clock, f"token-{uuid.uuid4().hex[:8]}")
    for _ in range(devices):
        device = bound_device(db, keys, clock, subject)
        db.add(
            DeviceOperation(
                device_id=device,
                kind=OperationKind.REBOOT,
                args={},
                purpose="service_provision",
                actor=STAFF,
                origin_kind=OriginKind.SINGLE,
                state=OperationState.SUCCEEDED,
                deadline_seconds=60,
                deadline_at=clock.now(),
                created_at=clock.now(),
            )
        )
    db.flush()
    return subject


def _erased_rows(db: Session, subject: uuid.UUID) -> list[int]:
    flush_events(db)
    return list(
        db.scalars(
            sa.text(
                "SELECT (details->>'rows')::int FROM audit_events "
                "WHERE action = 'subject.erased' AND subject_id = :s"
            ),
            {"s": subject},
        )
    )


def test_a_batch_erases_each_subject_as_the_single_erasure_does_and_spares_the_others(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    shapes = [0, 1, 3]
    batch = [_subscriber(db, keys, clock, devices) for devices in shapes]
    twins = [_subscriber(db, keys, clock, devices) for devices in shapes]
    bystander = _subscriber(db, keys, clock, 2)
    flush_events(db)
    before = collect(db, keys, metadata, bystander)
    request = uuid.uuid4()

    done = erase_subjects(db, ctx, keys, batch, actor=STAFF, requests=[request, None, None])
    alone = [erase_subject(db, ctx, keys, twin, request_id=None, actor=STAFF) for twin in twins]

    assert done.failed == {} and done.alone == set()  # one statement did it
    assert [done.rows[subject] for subject in batch] == alone
    assert alone[0] < alone[1] < alone[2]  # the devices' rows are counted to their owner
    db.expire_all()
    for subject in batch:
        left_of(db, keys, subject)
        assert db.get(Subject, subject) is None
        assert keys.keyring.is_destroyed(subject)
        assert _erased_rows(db, subject) == [done.rows[subject]]
    assert set(batch) <= set(tombstones(db))
    written = db.execute(
        sa.text("SELECT request_id FROM erasure_tombstones WHERE subject_id = :s"),
        {"s": batch[0]},
    ).scalar_one()
    assert written == request
    assert collect(db, keys, metadata, bystander) == before
    assert not keys.keyring.is_destroyed(bystander)


def test_a_held_subject_in_a_batch_keeps_what_is_held_and_the_rest_go(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    held, free = _subscriber(db, keys, clock, 1), _subscriber(db, keys, clock, 1)
    hold(db, clock, held, "device_pppoe")

    done = erase_subjects(db, ctx, keys, [held, free], actor=STAFF)

    assert done.failed == {} and set(done.rows) == {held, free}
    assert done.alone == {held}
    db.expire_all()
    kept = collect(db, keys, metadata, held)
    assert "device_pppoe" in kept and "accounts" not in kept
    assert db.get(Subject, held) is not None  # the held rows hang on it
    assert not keys.keyring.is_destroyed(held)  # the held PPPoE secrets stay readable
    assert held not in tombstones(db)  # not finished yet
    assert db.get(Subject, free) is None
    assert keys.keyring.is_destroyed(free)


def test_a_subject_whose_erasure_fails_is_left_whole_and_the_others_still_go(
    db: Session, ctx: RequestContext, keys: KeyService, clock: FakeClock
) -> None:
    stuck, first, last = (_subscriber(db, keys, clock, 1) for _ in range(3))
    flush_events(db)
    before = collect(db, keys, metadata, stuck)
    refuse_erasure_of(db, stuck)

    done = erase_subjects(db, ctx, keys, [first, stuck, last], actor=STAFF)

    assert set(done.rows) == {first, last}
    assert done.failed == {stuck: "RaiseException"}
    assert done.alone == {first, stuck, last}
    db.expire_all()
    assert db.get(Subject, first) is None and db.get(Subject, last) is None
    assert db.get(Subject, stuck) is not None
    assert collect(db, keys, metadata, stuck).keys() == before.keys()
    assert _erased_rows(db, stuck) == []
    assert _erased_rows(db, first) == [done.rows[first]]
