"""The rules of a rollout, in the database: canary, waves, caps, automatic pause, verbs.

The executor is played by :func:`~tests.devices.rollout_factory.end_operation` (final
state, then the origin's callback in the same transaction); the network tests run the
real one against simulated agents.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.devices.fleet.filters import DeviceFilter
from doorstep.devices.fleet.operations import OperationState, Reason
from doorstep.devices.fleet.rollout_models import MemberState, Rollout, RolloutState
from doorstep.devices.fleet.rollout_plan import RolloutSpec, TargetFilter
from doorstep.devices.fleet.rollout_views import failure_breakdown, rollout_view
from doorstep.devices.fleet.rollouts import (
    abort_rollout,
    create_rollout,
    pause_rollout,
    resume_rollout,
    start_rollout,
)
from tests.devices.rollout_factory import (
    end_operation,
    fleet,
    image,
    member_states,
    open_operations,
    operations,
)

ACTOR = "system:tests"


def _rollout(db: Session, clock: FakeClock, devices: list[uuid.UUID], **plan: object) -> uuid.UUID:
    spec = RolloutSpec(
        name="spring update",
        image_id=plan.pop("image_id", None) or image(db, clock),  # type: ignore[arg-type]
        target=TargetFilter(device_ids=tuple(devices)),
        **plan,  # type: ignore[arg-type]
    )
    return create_rollout(db, spec, actor=ACTOR, clock=clock).id


def _end_all(db: Session, clock: FakeClock, rollout_id: uuid.UUID, **how: object) -> int:
    ended = 0
    for op in open_operations(db, rollout_id):
        end_operation(db, op, OperationState.SUCCEEDED, at=clock.now(), **how)  # type: ignore[arg-type]
        ended += 1
    return ended


def test_the_canary_goes_first_and_each_wave_opens_when_the_last_one_ended(
    db: Session, clock: FakeClock
) -> None:
    devices = fleet(db, clock, 20)
    rollout_id = _rollout(db, clock, devices, canary_count=2, growth=2.0)
    start_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    view = rollout_view(db, rollout_id)
    assert [w.counts.size for w in view.waves] == [2, 4, 8, 6]
    assert view.state is RolloutState.RUNNING
    sizes_seen = []
    while open_operations(db, rollout_id):
        sizes_seen.append(len(open_operations(db, rollout_id)))
        _end_all(db, clock, rollout_id)
    assert sizes_seen == [2, 4, 8, 6]
    view = rollout_view(db, rollout_id)
    assert view.state is RolloutState.FINISHED
    assert view.counts.succeeded == 20
    assert all(w.state == "done" for w in view.waves)
    # one operation per device, every one a firmware update of this rollout's image
    ops = operations(db, rollout_id)
    assert sorted(op.device_id for op in ops) == sorted(devices)
    assert {op.kind.value for op in ops} == {"firmware_update"}
    assert {op.purpose for op in ops} == {"device.maintenance"}


def test_the_canary_is_a_share_of_the_target_rounded_up(db: Session, clock: FakeClock) -> None:
    devices = fleet(db, clock, 30)
    rollout_id = _rollout(db, clock, devices, canary_percent=5.0, wave_sizes=(10,))
    start_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    assert [w.counts.size for w in rollout_view(db, rollout_id).waves] == [2, 10, 10, 8]


def test_no_more_devices_of_a_wave_are_in_flight_than_its_cap(
    db: Session, clock: FakeClock
) -> None:
    devices = fleet(db, clock, 10)
    rollout_id = _rollout(db, clock, devices, canary_count=0, wave_sizes=(10,), max_in_flight=3)
    start_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    seen = []
    while pending := open_operations(db, rollout_id):
        seen.append(len(pending))
        end_operation(db, pending[0], OperationState.SUCCEEDED, at=clock.now())
    assert max(seen) == 3
    assert seen[:8] == [3] * 8  # the cap stays full while devices wait
    assert rollout_view(db, rollout_id).state is RolloutState.FINISHED


def test_no_more_devices_of_one_model_are_in_flight_than_the_model_cap(
    db: Session, clock: FakeClock
) -> None:
    devices = fleet(db, clock, 12)  # six of each model
    rollout_id = _rollout(
        db, clock, devices, canary_count=0, wave_sizes=(12,), max_in_flight=10, max_per_model=2
    )
    start_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    models = dict(
        db.execute(
            sa.text(
                "SELECT device_id, model FROM device_registrations WHERE device_id = ANY(:ids)"
            ),
            {"ids": devices},
        ).all()
    )
    while pending := open_operations(db, rollout_id):
        per_model = Counter(models[op.device_id] for op in pending)
        assert max(per_model.values()) <= 2
        # a device waits only because its model is at the cap
        assert all(per_model[models[d]] == 2 for d in _pending_of(db, rollout_id))
        end_operation(db, pending[0], OperationState.SUCCEEDED, at=clock.now())
    assert rollout_view(db, rollout_id).counts.succeeded == 12


def _pending_of(db: Session, rollout_id: uuid.UUID) -> list[uuid.UUID]:
    return [d for d, s in member_states(db, rollout_id).items() if s is MemberState.PENDING]


def test_a_wave_that_cannot_stay_under_the_threshold_pauses_the_rollout_at_once(
    db: Session, clock: FakeClock
) -> None:
    devices = fleet(db, clock, 20)
    rollout_id = _rollout(
        db,
        clock,
        devices,
        canary_count=10,
        wave_sizes=(10,),
        max_in_flight=10,
        failure_threshold=20,
    )
    start_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    ops = open_operations(db, rollout_id)
    running = ops[9]
    running.state = OperationState.RUNNING  # claimed by an executor, sent already
    running.sent_at = clock.now()
    db.flush()
    for op in ops[:2]:  # 2 of 10: could still end at 20 %
        end_operation(
            db, op, OperationState.FAILED, at=clock.now(), reason=Reason.DEVICE_ERROR, usp_code=7015
        )
    assert rollout_view(db, rollout_id).state is RolloutState.RUNNING
    end_operation(db, ops[2], OperationState.FAILED, at=clock.now(), reason=Reason.DEVICE_TIMEOUT)
    view = rollout_view(db, rollout_id)
    assert view.state is RolloutState.AUTO_PAUSED
    assert view.pause_reason == "failure_threshold"
    # what was still queued is withdrawn (deleted: nothing was sent); the running one stays
    assert [op.id for op in open_operations(db, rollout_id)] == [running.id]
    assert len(_pending_of(db, rollout_id)) == 16
    end_operation(db, running, OperationState.SUCCEEDED, at=clock.now())
    view = rollout_view(db, rollout_id)
    assert (view.counts.failed, view.counts.succeeded, view.counts.in_flight) == (3, 1, 0)
    assert not open_operations(db, rollout_id)  # a paused rollout queues nothing
    assert [(f.reason, f.usp_code, f.devices) for f in failure_breakdown(db, rollout_id)] == [
        ("device_error", 7015, 2),
        ("device_timeout", None, 1),
    ]

    resume_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    view = rollout_view(db, rollout_id)
    assert view.state is RolloutState.RUNNING and view.waves[0].failures_accepted
    # the canary's six others again, and a failure more does not pause it a second time
    again = open_operations(db, rollout_id)
    assert len(again) == 6
    end_operation(db, again[0], OperationState.FAILED, at=clock.now(), reason=Reason.DEVICE_ERROR)
    _end_all(db, clock, rollout_id)
    _end_all(db, clock, rollout_id)  # wave 2
    view = rollout_view(db, rollout_id)
    assert view.state is RolloutState.FINISHED
    assert (view.counts.succeeded, view.counts.failed) == (16, 4)
    # never a second operation for a device, even across the withdrawal
    assert Counter(op.device_id for op in operations(db, rollout_id)).most_common(1)[0][1] == 1


def test_a_wave_that_ends_over_the_threshold_pauses_before_the_next_one(
    db: Session, clock: FakeClock
) -> None:
    devices = fleet(db, clock, 10)
    rollout_id = _rollout(db, clock, devices, canary_count=5, wave_sizes=(5,), failure_threshold=30)
    start_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    ops = open_operations(db, rollout_id)
    end_operation(
        db, ops[0], OperationState.FAILED, at=clock.now(), reason=Reason.ACTIVATION_FAILED
    )
    for op in ops[1:3]:  # the image does not apply to these: neither success nor failure
        end_operation(db, op, OperationState.FAILED, at=clock.now(), reason=Reason.NOT_APPLICABLE)
    assert rollout_view(db, rollout_id).state is RolloutState.RUNNING  # 1 of 5 so far
    for op in ops[3:]:
        end_operation(db, op, OperationState.SUCCEEDED, at=clock.now())
    view = rollout_view(db, rollout_id)  # 1 failed of 3 that ended: 33 % > 30 %
    assert view.state is RolloutState.AUTO_PAUSED
    assert view.waves[0].state == "done" and view.waves[1].state == "pending"
    assert (view.counts.skipped, view.counts.failed) == (2, 1)
    assert not open_operations(db, rollout_id)
    resume_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    assert len(open_operations(db, rollout_id)) == 5
    assert rollout_view(db, rollout_id).current_wave == 2


def test_pause_withdraws_the_queued_and_resume_queues_them_again_once(
    db: Session, clock: FakeClock
) -> None:
    devices = fleet(db, clock, 6)
    rollout_id = _rollout(db, clock, devices, canary_count=0, wave_sizes=(6,), max_in_flight=4)
    start_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    first = open_operations(db, rollout_id)
    first[0].state = OperationState.WAITING  # sent, waits for the device's word
    first[0].sent_at = clock.now()
    db.flush()
    pause_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    assert [op.id for op in open_operations(db, rollout_id)] == [first[0].id]
    with pytest.raises(ConflictError):
        pause_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    end_operation(db, first[0], OperationState.SUCCEEDED, at=clock.now())
    assert not open_operations(db, rollout_id)
    resume_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    assert len(open_operations(db, rollout_id)) == 4
    while open_operations(db, rollout_id):
        _end_all(db, clock, rollout_id)
    assert rollout_view(db, rollout_id).counts.succeeded == 6
    assert sorted(op.device_id for op in operations(db, rollout_id)) == sorted(devices)


def test_abort_cancels_what_has_not_started_and_lets_what_runs_finish(
    db: Session, clock: FakeClock
) -> None:
    devices = fleet(db, clock, 8)
    rollout_id = _rollout(db, clock, devices, canary_count=0, wave_sizes=(8,), max_in_flight=3)
    start_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    ops = open_operations(db, rollout_id)
    ops[0].state = OperationState.RUNNING
    ops[0].sent_at = clock.now()
    db.flush()
    abort_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    view = rollout_view(db, rollout_id)
    assert view.state is RolloutState.ABORTED
    assert (view.counts.cancelled, view.counts.in_flight) == (7, 1)
    states = Counter(op.state for op in operations(db, rollout_id))
    assert states == {OperationState.CANCELLED: 2, OperationState.RUNNING: 1}
    end_operation(db, ops[0], OperationState.SUCCEEDED, at=clock.now())
    view = rollout_view(db, rollout_id)
    assert (view.counts.succeeded, view.counts.in_flight, view.state) == (
        1,
        0,
        RolloutState.ABORTED,
    )
    for verb in (pause_rollout, resume_rollout, start_rollout, abort_rollout):
        with pytest.raises(ConflictError):
            verb(db, rollout_id, actor=ACTOR, clock=clock)


def test_devices_start_only_inside_the_maintenance_window_of_the_time_zone(
    db: Session, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 1, 15, 12, 0, tzinfo=UTC))  # 13:00 in Berlin (winter)
    devices = fleet(db, clock, 4)
    rollout_id = _rollout(
        db,
        clock,
        devices,
        canary_count=2,
        window_start=time(2, 0),
        window_end=time(4, 0),
        time_zone="Europe/Berlin",
    )
    start_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    opens = datetime(2026, 1, 16, 1, 0, tzinfo=UTC)  # 02:00 in Berlin
    assert {op.not_before for op in open_operations(db, rollout_id)} == {opens}
    clock.set(opens + timedelta(minutes=30))
    _end_all(db, clock, rollout_id)
    assert {op.not_before for op in open_operations(db, rollout_id)} == {None}


def test_the_target_is_frozen_at_start_and_left_out_devices_are_counted(
    db: Session, clock: FakeClock
) -> None:
    fleet(db, clock, 6)
    fleet(db, clock, 3, firmware="0.9")
    image_id = image(db, clock, models=("DR-1000",), min_version="1.0")
    spec = RolloutSpec(
        name="routers only",
        image_id=image_id,
        target=TargetFilter(DeviceFilter(model="DR-1000")),
    )
    rollout_id = create_rollout(db, spec, actor=ACTOR, clock=clock).id
    start_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    fleet(db, clock, 4)  # join the filter after the start
    view = rollout_view(db, rollout_id)
    assert (view.counts.size, view.excluded) == (3, 2)  # 5 routers: 3 on 1.8.3, 2 on 0.9
    assert len(member_states(db, rollout_id)) == 3


def test_a_target_the_image_applies_to_nowhere_is_refused_and_stays_a_draft(
    db: Session, clock: FakeClock
) -> None:
    devices = fleet(db, clock, 2, models=("OTHER",))
    rollout_id = _rollout(db, clock, devices)
    with pytest.raises(ConflictError) as refused:
        start_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    assert refused.value.fields["reason"] == "empty_target"
    assert db.get(Rollout, rollout_id).state is RolloutState.DRAFT  # type: ignore[union-attr]
    assert not member_states(db, rollout_id)


def test_a_bad_rollout_is_refused_naming_every_rule_and_nothing_is_stored(
    db: Session, clock: FakeClock
) -> None:
    spec = RolloutSpec(
        name="",
        image_id=image(db, clock),
        canary_count=1,
        canary_percent=5,
        wave_sizes=(10,),
        growth=3,
        max_in_flight=0,
        failure_threshold=120,
        window_start=time(2),
        time_zone="Mars/Olympus",
    )
    with pytest.raises(InvalidInputError) as refused:
        create_rollout(db, spec, actor=ACTOR, clock=clock)
    fields = {(e["field"], e["rule"]) for e in refused.value.fields["errors"]}
    assert fields == {
        ("name", "rollout_name"),
        ("target", "group_or_filter"),
        ("canary", "count_or_percent"),
        ("waves", "sizes_or_growth"),
        ("max_in_flight", "in_flight_cap"),
        ("failure_threshold", "percent"),
        ("window", "start_and_end"),
        ("time_zone", "iana_time_zone"),
    }
    unknown = RolloutSpec(name="x", image_id=uuid.uuid4(), group_id=uuid.uuid4())
    with pytest.raises(InvalidInputError):
        create_rollout(db, unknown, actor=ACTOR, clock=clock)
    assert db.scalar(sa.select(sa.func.count()).select_from(Rollout)) == 0
    with pytest.raises(NotFoundError):
        start_rollout(db, uuid.uuid4(), actor=ACTOR, clock=clock)


def test_every_verb_is_audited_with_ids_and_counts(db: Session, clock: FakeClock) -> None:
    devices = fleet(db, clock, 3)
    rollout_id = _rollout(db, clock, devices, canary_count=1)
    start_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    pause_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    resume_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    abort_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    db.flush()
    from doorstep.audit.services import flush_events

    flush_events(db)
    rows = db.execute(
        sa.text(
            "SELECT action, details FROM audit_events WHERE details->>'rollout' = :id ORDER BY id"
        ),
        {"id": str(rollout_id)},
    ).all()
    assert [action for action, _ in rows] == [
        "devices.rollout_created",
        "devices.rollout_started",
        "devices.rollout_paused",
        "devices.rollout_resumed",
        "devices.rollout_aborted",
    ]
    assert rows[1][1]["devices"] == 3


def test_the_sweeps_progress_hook_settles_an_operation_whose_callback_never_came(
    db: Session, clock: FakeClock
) -> None:
    from doorstep.devices.fleet.rollout_origin import progress

    devices = fleet(db, clock, 4)
    rollout_id = _rollout(db, clock, devices, canary_count=2, wave_sizes=(2,))
    start_rollout(db, rollout_id, actor=ACTOR, clock=clock)
    for op in open_operations(db, rollout_id):  # ended, but no callback ran
        op.state = OperationState.SUCCEEDED
        op.sent_at = op.finished_at = clock.now()
    db.flush()
    assert rollout_view(db, rollout_id).counts.in_flight == 2
    progress(db, clock.now())
    view = rollout_view(db, rollout_id)
    assert (view.counts.succeeded, view.current_wave, view.counts.in_flight) == (2, 2, 2)
    progress(db, clock.now())  # nothing new: nothing changes
    assert rollout_view(db, rollout_id).counts.succeeded == 2
