"""Firmware rollouts, the operator's verbs: create, start, pause, resume, abort (decision 0039).

A rollout installs one firmware image on a target (a device group, or a filter and/or a
list of inventory ids) in waves: a canary first, then growing waves; at most
``max_in_flight`` devices of a wave and ``max_per_model`` of one model update at once;
a wave whose failure rate exceeds ``failure_threshold`` pauses it by itself; devices
start their update only inside the maintenance window.  How it moves is
:mod:`.rollout_engine`; its callbacks are :mod:`.rollout_origin`; views are
:mod:`.rollout_views`.

Contract (each function runs in the caller's transaction and audits what it did, with
ids and counts only):

* :func:`create_rollout` checks the spec (:func:`~.rollout_plan.check_spec`), the
  image and the group, and stores a ``draft``; bad input is one
  :class:`InvalidInputError` naming every field and rule, and nothing is stored.
* :func:`start_rollout` resolves the target once, freezes it with its waves and opens
  the canary: its first operations are queued in the same transaction.  A target
  with no device the image applies to is a :class:`ConflictError` and the rollout
  stays a draft.
* :func:`pause_rollout` (``running`` only) withdraws what is still queued; devices in
  flight finish and are counted.  :func:`resume_rollout` (``paused`` or
  ``auto_paused``) goes on where it stopped; resuming an automatic pause accepts the
  failures of that wave (it is not checked again).
* :func:`abort_rollout` (any state but ``finished`` and ``aborted``) cancels what is
  queued and every device not started; devices in flight finish and are counted.
* A verb in a state that does not allow it is a :class:`ConflictError` with
  ``reason`` = the state, and nothing changes; an unknown id is :class:`NotFoundError`.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.audit.services import record
from doorstep.core.clock import Clock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.devices.fleet.groups import get_group
from doorstep.devices.fleet.image_models import FirmwareImage
from doorstep.devices.fleet.rollout_engine import (
    FAILURE_THRESHOLD,
    PURPOSE,
    halt,
    lock,
    reconcile,
    step,
    wave_of,
)
from doorstep.devices.fleet.rollout_models import (
    HALTED,
    OPEN,
    MemberState,
    Rollout,
    RolloutDevice,
    RolloutState,
    RolloutWave,
    WaveState,
)
from doorstep.devices.fleet.rollout_plan import RolloutSpec, check_spec
from doorstep.devices.fleet.rollout_queue import cancel_unclaimed
from doorstep.devices.fleet.rollout_target import freeze

OPERATOR = "operator"
"""``pause_reason`` of a pause an operator asked for."""


def create_rollout(session: Session, spec: RolloutSpec, *, actor: str, clock: Clock) -> Rollout:
    """Store a draft rollout (see the module's contract)."""
    check_spec(spec)
    if session.get(FirmwareImage, spec.image_id) is None:
        raise InvalidInputError.of("image_id", "known_image", "no firmware image has this id")
    if spec.group_id is not None:
        try:
            get_group(session, spec.group_id)
        except NotFoundError:
            raise InvalidInputError.of(
                "group_id", "known_group", "no device group has this id"
            ) from None
    row = Rollout(
        id=uuid.uuid4(),
        name=spec.name,
        image_id=spec.image_id,
        group_id=spec.group_id,
        target_filter=spec.target.as_json() if spec.target is not None else None,
        canary_count=spec.canary_count,
        canary_percent=spec.canary_percent,
        wave_sizes=list(spec.wave_sizes) or None,
        growth=spec.growth,
        max_in_flight=spec.max_in_flight,
        max_per_model=spec.max_per_model,
        failure_threshold=spec.failure_threshold,
        window_start=spec.window_start,
        window_end=spec.window_end,
        time_zone=spec.time_zone,
        deadline_seconds=spec.deadline_seconds,
        state=RolloutState.DRAFT,
        current_wave=0,
        wave_count=0,
        total=0,
        excluded=0,
        actor=actor,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        action="devices.rollout_created",
        actor=actor,
        purpose=PURPOSE,
        details={"rollout": str(row.id), "image": str(spec.image_id)},
    )
    return row


def _locked(session: Session, rollout_id: uuid.UUID) -> Rollout:
    rollout = lock(session, rollout_id)
    if rollout is None:
        raise NotFoundError("no rollout has this id")
    return rollout


def _refuse(rollout: Rollout, verb: str) -> ConflictError:
    return ConflictError(
        f"a {rollout.state.value} rollout cannot be {verb}", reason=rollout.state.value
    )


def _audit(session: Session, rollout: Rollout, action: str, actor: str, **counts: int) -> None:
    record(
        session,
        action=f"devices.rollout_{action}",
        actor=actor,
        purpose=PURPOSE,
        details={"rollout": str(rollout.id), "state": rollout.state.value, **counts},
    )


def start_rollout(session: Session, rollout_id: uuid.UUID, *, actor: str, clock: Clock) -> Rollout:
    """Freeze the target, plan the waves, open the canary (see the module's contract)."""
    rollout = _locked(session, rollout_id)
    if rollout.state is not RolloutState.DRAFT:
        raise _refuse(rollout, "started")
    image = session.get(FirmwareImage, rollout.image_id)
    if image is None:  # pragma: no cover - the foreign key keeps it
        raise ConflictError("the rollout's image is gone", reason="image_gone")
    with session.begin_nested() as attempt:
        frozen = freeze(session, rollout, image)
        if not frozen.total:
            attempt.rollback()
            raise ConflictError(
                "the target has no device the image applies to",
                reason="empty_target",
                excluded=frozen.excluded,
            )
    now = clock.now()
    session.add_all(
        RolloutWave(
            rollout_id=rollout.id,
            number=number,
            size=size,
            state=WaveState.PENDING,
            in_flight=0,
            succeeded=0,
            failed=0,
            skipped=0,
            cancelled=0,
            failures_accepted=False,
        )
        for number, size in enumerate(frozen.sizes, start=1)
    )
    rollout.total = frozen.total
    rollout.excluded = frozen.excluded
    rollout.wave_count = len(frozen.sizes)
    rollout.current_wave = 1
    rollout.state = RolloutState.RUNNING
    rollout.started_at = now
    session.flush()
    step(session, rollout, clock)
    _audit(
        session,
        rollout,
        "started",
        actor,
        devices=frozen.total,
        excluded=frozen.excluded,
        waves=len(frozen.sizes),
    )
    return rollout


def pause_rollout(session: Session, rollout_id: uuid.UUID, *, actor: str, clock: Clock) -> Rollout:
    """Pause a running rollout: nothing new starts; what is in flight finishes."""
    rollout = _locked(session, rollout_id)
    if rollout.state is not RolloutState.RUNNING:
        raise _refuse(rollout, "paused")
    withdrawn = halt(session, rollout, RolloutState.PAUSED, OPERATOR, clock.now())
    _audit(session, rollout, "paused", actor, withdrawn=withdrawn)
    return rollout


def resume_rollout(session: Session, rollout_id: uuid.UUID, *, actor: str, clock: Clock) -> Rollout:
    """Resume a paused rollout; resuming an automatic pause accepts that wave's failures."""
    rollout = _locked(session, rollout_id)
    if rollout.state not in HALTED:
        raise _refuse(rollout, "resumed")
    accepted = False
    if rollout.pause_reason == FAILURE_THRESHOLD:
        wave = wave_of(session, rollout.id, rollout.current_wave)
        if wave is not None and wave.state is not WaveState.DONE:
            wave.failures_accepted = accepted = True
        elif wave is not None:  # it closed over the threshold: the next one opens
            rollout.current_wave += 1
    rollout.state = RolloutState.RUNNING
    rollout.pause_reason = None
    session.flush()
    reconcile(session, rollout, clock.now())
    step(session, rollout, clock)
    _audit(session, rollout, "resumed", actor, failures_accepted=accepted)
    return rollout


def abort_rollout(session: Session, rollout_id: uuid.UUID, *, actor: str, clock: Clock) -> Rollout:
    """Abort: queued operations and devices not started are cancelled; in flight finish."""
    rollout = _locked(session, rollout_id)
    if rollout.state not in OPEN:
        raise _refuse(rollout, "aborted")
    now = clock.now()
    cancelled = cancel_unclaimed(session, rollout, now)
    reconcile(session, rollout, now)  # the devices whose operation was just cancelled
    gone = (
        sa.update(RolloutDevice)
        .where(
            RolloutDevice.rollout_id == rollout.id,
            RolloutDevice.state == MemberState.PENDING,
        )
        .values(state=MemberState.CANCELLED, reason="rollout_aborted", finished_at=now)
        .returning(RolloutDevice.wave)
        .cte("gone")
    )
    waves = session.execute(sa.select(gone.c.wave, sa.func.count()).group_by(gone.c.wave)).all()
    for number, count in waves:
        wave = wave_of(session, rollout.id, number)
        if wave is not None:
            wave.cancelled += count
    for wave in session.scalars(
        sa.select(RolloutWave).where(
            RolloutWave.rollout_id == rollout.id, RolloutWave.state != WaveState.DONE
        )
    ):
        wave.state = WaveState.DONE
        wave.closed_at = now
    rollout.state = RolloutState.ABORTED
    rollout.pause_reason = None
    rollout.finished_at = now
    session.flush()
    _audit(
        session,
        rollout,
        "aborted",
        actor,
        cancelled=cancelled + sum(count for _, count in waves),
    )
    return rollout
