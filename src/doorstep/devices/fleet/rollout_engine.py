"""How a running rollout moves: queue within the caps, count outcomes, open waves, pause itself.

Every function here runs in the caller's transaction, on a rollout whose row the caller
locked first (:func:`lock`, ``SELECT … FOR UPDATE``), so the executors' callbacks, the
sweep's progress hook and the operator's commands take turns on one rollout and its
counters never drift.  Nothing
lives in a process's memory: a restart of any process loses nothing (decision 0039).

* :func:`pump` queues ``firmware_update`` operations (origin ``rollout``) for the next
  pending devices of the open wave, in their frozen order, while the wave has fewer
  than ``max_in_flight`` devices in flight and their model fewer than ``max_per_model``;
  outside the maintenance window they are queued with ``not_before`` its next opening.
* :func:`settle` counts the end of a device's operation on its wave (called by the
  origin's callbacks, :mod:`.rollout_origin`).
* :func:`step` moves the rollout on: a wave whose failures make its failure rate
  exceed the threshold *whatever the rest does* pauses the rollout at once
  (``auto_paused``); a wave with every device settled closes, and opens the next one if
  its failure rate (failed / (succeeded + failed)) is at most the threshold, else the
  rollout pauses itself; after the last wave it is ``finished``.  A wave whose
  failures an operator accepted (by resuming) is not checked again.
* :func:`halt` pauses it and takes back what it still has in the queue
  (:func:`~.rollout_queue.withdraw`).
* :func:`reconcile` is the safety net the sweep runs every minute: a device whose
  operation ended without its callback (or vanished) is settled from the operation's row.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import Clock
from doorstep.devices.fleet.operations import (
    DeviceOperation,
    OperationKind,
    OperationState,
    OriginKind,
    Reason,
    queue_operations,
)
from doorstep.devices.fleet.rollout_models import (
    MemberState,
    Rollout,
    RolloutDevice,
    RolloutState,
    RolloutWave,
    WaveState,
)
from doorstep.devices.fleet.rollout_plan import window_opening
from doorstep.devices.fleet.rollout_queue import withdraw
from doorstep.devices.models import DeviceRegistration

PURPOSE = "device.maintenance"
"""The purpose every operation of a rollout runs under."""
FAILURE_THRESHOLD = "failure_threshold"
"""``pause_reason`` of a rollout that paused itself."""


def lock(session: Session, rollout_id: uuid.UUID, *, skip_locked: bool = False) -> Rollout | None:
    """The rollout's row, locked for this transaction (None: no such rollout, or busy)."""
    query = sa.select(Rollout).where(Rollout.id == rollout_id)
    query = query.with_for_update(skip_locked=skip_locked).execution_options(populate_existing=True)
    return session.scalar(query)


def wave_of(session: Session, rollout_id: uuid.UUID, number: int) -> RolloutWave | None:
    """Wave ``number`` of the rollout (None before the first or after the last)."""
    return session.get(RolloutWave, (rollout_id, number))


def pending_in(wave: RolloutWave) -> int:
    """Devices of ``wave`` not queued yet (from its counters)."""
    settled = wave.succeeded + wave.failed + wave.skipped + wave.cancelled
    return wave.size - wave.in_flight - settled


# -- queueing ------------------------------------------------------------------------


def _candidates(session: Session, rollout: Rollout, wave: int, room: int) -> list[uuid.UUID]:
    """The next pending devices of ``wave`` that fit the per-model cap, in frozen order."""
    member = RolloutDevice
    model = sa.func.coalesce(DeviceRegistration.model, "")
    joined = sa.outerjoin(
        member, DeviceRegistration, DeviceRegistration.device_id == member.device_id
    )
    query: sa.Select[Any]
    if rollout.max_per_model is None:
        query = (
            sa.select(member.device_id)
            .where(
                member.rollout_id == rollout.id,
                member.wave == wave,
                member.state == MemberState.PENDING,
            )
            .order_by(member.position)
            .limit(room)
        )
        return list(session.scalars(query))
    flying = (
        sa.select(model.label("model"), sa.func.count().label("n"))
        .select_from(joined)
        .where(member.rollout_id == rollout.id, member.state == MemberState.QUEUED)
        .group_by(model)
        .cte("flying")
    )
    ranked = (
        sa.select(
            member.device_id,
            member.position,
            model.label("model"),
            sa.func.row_number().over(partition_by=model, order_by=member.position).label("rank"),
        )
        .select_from(joined)
        .where(
            member.rollout_id == rollout.id,
            member.wave == wave,
            member.state == MemberState.PENDING,
        )
        .cte("ranked")
    )
    query = (
        sa.select(ranked.c.device_id)
        .select_from(ranked.outerjoin(flying, flying.c.model == ranked.c.model))
        .where(ranked.c.rank + sa.func.coalesce(flying.c.n, 0) <= rollout.max_per_model)
        .order_by(ranked.c.position)
        .limit(room)
    )
    return list(session.scalars(query))


def pump(session: Session, rollout: Rollout, clock: Clock) -> int:
    """Queue the open wave's next devices within the caps; how many were queued."""
    if rollout.state is not RolloutState.RUNNING:
        return 0
    wave = wave_of(session, rollout.id, rollout.current_wave)
    if wave is None or wave.state is not WaveState.OPEN:
        return 0
    room = rollout.max_in_flight - wave.in_flight
    if room <= 0 or pending_in(wave) <= 0:
        return 0
    chosen = _candidates(session, rollout, wave.number, room)
    if not chosen:
        return 0
    now = clock.now()
    queue_operations(
        session,
        chosen,
        OperationKind.FIRMWARE_UPDATE,
        {"image_id": str(rollout.image_id)},
        purpose=PURPOSE,
        actor=rollout.actor,
        origin_kind=OriginKind.ROLLOUT,
        origin_id=rollout.id,
        not_before=window_opening(now, rollout.window_start, rollout.window_end, rollout.time_zone),
        deadline_seconds=rollout.deadline_seconds,
        clock=clock,
    )
    session.execute(
        sa.update(RolloutDevice)
        .where(RolloutDevice.rollout_id == rollout.id, RolloutDevice.device_id.in_(chosen))
        .values(state=MemberState.QUEUED)
    )
    wave.in_flight += len(chosen)
    session.flush()
    # A device that had an operation of this rollout already (nothing is queued twice)
    # is settled from that operation now.
    reconcile(session, rollout, now)
    return len(chosen)


# -- outcomes --------------------------------------------------------------------------


def _outcome(state: OperationState, reason: str | None) -> MemberState:
    if state is OperationState.SUCCEEDED:
        return MemberState.SUCCEEDED
    if state is OperationState.CANCELLED:
        return MemberState.CANCELLED
    if reason == Reason.NOT_APPLICABLE:
        return MemberState.SKIPPED
    return MemberState.FAILED


def settle(
    session: Session,
    rollout: Rollout,
    member: RolloutDevice,
    *,
    state: OperationState,
    reason: str | None,
    at: datetime,
) -> MemberState:
    """Record the end of ``member``'s operation on it and on its wave's counters."""
    outcome = _outcome(state, reason)
    member.state = outcome
    member.reason = reason
    member.finished_at = at
    wave = wave_of(session, rollout.id, member.wave)
    if wave is not None:
        wave.in_flight = max(0, wave.in_flight - 1)
        name = outcome.value
        setattr(wave, name, getattr(wave, name) + 1)
    session.flush()
    return outcome


def reconcile(session: Session, rollout: Rollout, now: datetime) -> int:
    """Settle queued devices whose operation ended (or vanished) without their callback."""
    op = DeviceOperation
    member = RolloutDevice
    rows = session.execute(
        sa.select(member, op.state, op.reason, op.finished_at)
        .outerjoin(op, sa.and_(op.origin_id == member.rollout_id, op.device_id == member.device_id))
        .where(
            member.rollout_id == rollout.id,
            member.state == MemberState.QUEUED,
            sa.or_(op.id.is_(None), op.state.not_in(("queued", "running", "waiting"))),
        )
    ).all()
    for found, ended, reason, finished_at in rows:
        state: OperationState | None = ended
        if state is None:  # its operation is gone (withdrawn, or deleted by hand): again
            found.state = MemberState.PENDING
            wave = wave_of(session, rollout.id, found.wave)
            if wave is not None:
                wave.in_flight = max(0, wave.in_flight - 1)
            continue
        settle(
            session,
            rollout,
            found,
            state=OperationState(state),
            reason=reason,
            at=finished_at or now,
        )
    session.flush()
    return len(rows)


# -- waves -----------------------------------------------------------------------------


def _over(rollout: Rollout, wave: RolloutWave, *, early: bool) -> bool:
    """Whether ``wave``'s failures exceed the threshold (``early``: already certain to)."""
    if wave.failures_accepted or wave.failed == 0:
        return False
    limit = rollout.failure_threshold
    if early:
        return wave.failed * 100 > limit * wave.size
    return wave.failed * 100 > limit * (wave.succeeded + wave.failed)


def halt(
    session: Session, rollout: Rollout, state: RolloutState, reason: str, now: datetime
) -> int:
    """Pause ``rollout`` (``paused`` or ``auto_paused``) and withdraw its queued operations."""
    rollout.state = state
    rollout.pause_reason = reason
    rollout.paused_at = now
    session.flush()
    return withdraw(session, rollout)


def step(session: Session, rollout: Rollout, clock: Clock) -> None:
    """Queue, close the wave, open the next, pause or finish, as the counters say (see module)."""
    now = clock.now()
    while rollout.state is RolloutState.RUNNING:
        wave = wave_of(session, rollout.id, rollout.current_wave)
        if wave is None:
            rollout.state = RolloutState.FINISHED
            rollout.finished_at = now
            break
        if wave.state is WaveState.PENDING:
            wave.state = WaveState.OPEN
            wave.opened_at = now
        if wave.state is WaveState.OPEN:
            if _over(rollout, wave, early=True):
                halt(session, rollout, RolloutState.AUTO_PAUSED, FAILURE_THRESHOLD, now)
                break
            pump(session, rollout, clock)
            if wave.in_flight or pending_in(wave) > 0:
                break
            wave.state = WaveState.DONE
            wave.closed_at = now
            if _over(rollout, wave, early=False):
                halt(session, rollout, RolloutState.AUTO_PAUSED, FAILURE_THRESHOLD, now)
                break
        rollout.current_wave += 1
    session.flush()
