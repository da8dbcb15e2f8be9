"""How a running rollout moves: queue within the caps, count outcomes, open waves, pause itself.

Every function here runs in the caller's transaction, on a rollout whose row the caller
locked first (:func:`lock`, ``SELECT … FOR UPDATE``), so the executors' callbacks, the
sweep's progress hook and the operator's commands take turns on one rollout and its
counters never drift.  Nothing
lives in a process's memory: a restart of any process loses nothing (decision 0039).

* :func:`pump` queues ``firmware_update`` operations (origin ``rollout``) for the next
  pending devices of the open wave, in their frozen order, while the wave has fewer
  than ``max_in_flight`` devices in flight and their model fewer than ``max_per_model``.
  With a maintenance window, each device's window is read in its own time zone (the
  rollout's for a device without one, decision 0045): those inside their window are
  queued first, then those whose window opens soonest, with ``not_before`` its next
  opening.  When some of the next devices would wait, up to :data:`LOOKAHEAD` more
  pending devices are read to find those whose window is open now.
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
from doorstep.devices.fleet.rollout_plan import start_order
from doorstep.devices.fleet.rollout_queue import withdraw
from doorstep.devices.fleet.time_zones import maintenance_zone
from doorstep.devices.models import DeviceRegistration

PURPOSE = "device.maintenance"
"""The purpose every operation of a rollout runs under."""
FAILURE_THRESHOLD = "failure_threshold"
"""``pause_reason`` of a rollout that paused itself."""
LOOKAHEAD = 500
"""Pending devices read past the free slots to find those inside their window now."""


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


def _pending(rollout: Rollout, wave: int) -> sa.Select[Any, Any]:
    """(device, position) of the next pending devices of ``wave`` within the per-model cap."""
    member = RolloutDevice
    mine = (
        member.rollout_id == rollout.id,
        member.wave == wave,
        member.state == MemberState.PENDING,
    )
    if rollout.max_per_model is None:
        return sa.select(member.device_id, member.position).where(*mine)
    model = sa.func.coalesce(DeviceRegistration.model, "")
    joined = sa.outerjoin(
        member, DeviceRegistration, DeviceRegistration.device_id == member.device_id
    )
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
        .where(*mine)
        .cte("ranked")
    )
    return (
        sa.select(ranked.c.device_id, ranked.c.position)
        .select_from(ranked.outerjoin(flying, flying.c.model == ranked.c.model))
        .where(ranked.c.rank + sa.func.coalesce(flying.c.n, 0) <= rollout.max_per_model)
    )


def _candidates(
    session: Session, rollout: Rollout, wave: int, limit: int, *, zones: bool
) -> list[tuple[uuid.UUID, str | None]]:
    """The next ``limit`` pending devices of ``wave`` in frozen order, with their own zones.

    ``zones`` False reads no zone (a rollout without a window: every device may start).
    """
    pending = _pending(rollout, wave)
    picked = pending.order_by(pending.selected_columns.position).limit(limit).subquery()
    zone = maintenance_zone(picked.c.device_id) if zones else sa.null()
    rows = session.execute(sa.select(picked.c.device_id, zone).order_by(picked.c.position)).all()
    return [(row[0], row[1]) for row in rows]


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
    windowed = rollout.window_start is not None
    found = _candidates(session, rollout, wave.number, room, zones=windowed)
    if not found:
        return 0
    now = clock.now()

    def order(
        candidates: list[tuple[uuid.UUID, str | None]],
    ) -> dict[datetime | None, list[uuid.UUID]]:
        return start_order(
            now,
            candidates,
            room,
            start=rollout.window_start,
            end=rollout.window_end,
            default_zone=rollout.time_zone,
        )

    batches = order(found)
    if set(batches) != {None} and len(found) == room:
        # some must wait: look further for devices whose window is open now
        batches = order(
            _candidates(session, rollout, wave.number, room + LOOKAHEAD, zones=windowed)
        )
    chosen: list[uuid.UUID] = []
    for not_before, device_ids in batches.items():
        queue_operations(
            session,
            device_ids,
            OperationKind.FIRMWARE_UPDATE,
            {"image_id": str(rollout.image_id)},
            purpose=PURPOSE,
            actor=rollout.actor,
            origin_kind=OriginKind.ROLLOUT,
            origin_id=rollout.id,
            not_before=not_before,
            deadline_seconds=rollout.deadline_seconds,
            clock=clock,
        )
        chosen += device_ids
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
