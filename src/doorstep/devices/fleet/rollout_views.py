"""What the CLI, the staff API and the console show of rollouts: ids, plan, state and counts.

* :func:`rollout_view` — one rollout with its plan and its waves' counters (a handful
  of rows whatever the fleet's size: the live page polls it);
* :func:`list_rollouts` — the newest rollouts first, with their totals;
* :func:`failure_breakdown` — the failed and skipped devices of a rollout counted by
  reason code and the device's own USP error code (never a device).

Nothing here names a device, a serial number or an address: ids of rollouts, images
and groups, versions, states and counts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.errors import NotFoundError
from doorstep.devices.fleet.image_models import FirmwareImage
from doorstep.devices.fleet.operations import DeviceOperation
from doorstep.devices.fleet.rollout_models import (
    MemberState,
    Rollout,
    RolloutDevice,
    RolloutState,
    RolloutWave,
)
from doorstep.devices.fleet.rollout_plan import TargetFilter

ANY_TIME = "any time"
"""``window`` of a rollout without a maintenance window."""


@dataclass(frozen=True, slots=True)
class Counts:
    """Devices of a wave or a rollout by where they stand."""

    size: int = 0
    in_flight: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0

    @property
    def settled(self) -> int:
        """Devices whose update ended."""
        return self.succeeded + self.failed + self.skipped + self.cancelled

    @property
    def pending(self) -> int:
        """Devices not queued yet."""
        return self.size - self.in_flight - self.settled

    @property
    def failure_rate(self) -> float | None:
        """failed / (succeeded + failed), in percent; None before any outcome."""
        ended = self.succeeded + self.failed
        return 100 * self.failed / ended if ended else None

    @property
    def percent_done(self) -> float:
        """Share of the devices whose update ended, in percent."""
        return 100 * self.settled / self.size if self.size else 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.size + other.size,
            self.in_flight + other.in_flight,
            self.succeeded + other.succeeded,
            self.failed + other.failed,
            self.skipped + other.skipped,
            self.cancelled + other.cancelled,
        )


@dataclass(frozen=True, slots=True)
class WaveView:
    """One wave: its number (1 is the canary), state, counts and times."""

    number: int
    state: str
    counts: Counts
    failures_accepted: bool
    opened_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class RolloutView:
    """A rollout as shown: plan, state, totals and (for one rollout) its waves."""

    id: uuid.UUID
    name: str
    image_id: uuid.UUID
    image_version: str
    group_id: uuid.UUID | None
    target: str
    state: RolloutState
    pause_reason: str | None
    current_wave: int
    wave_count: int
    excluded: int
    counts: Counts
    canary: str
    waves_plan: str
    max_in_flight: int
    max_per_model: int | None
    failure_threshold: float
    window: str
    time_zone: str
    deadline_seconds: int
    actor: str
    created_at: datetime
    started_at: datetime | None
    paused_at: datetime | None
    finished_at: datetime | None
    waves: tuple[WaveView, ...] = ()

    @property
    def windowed(self) -> bool:
        """Whether it has a window (read in each device's own zone, else :attr:`time_zone`)."""
        return self.window != ANY_TIME

    @property
    def moving(self) -> bool:
        """Whether the view will change by itself (running, or devices still in flight)."""
        return self.state is RolloutState.RUNNING or self.counts.in_flight > 0


def _hhmm(value: time | None) -> str:
    return value.strftime("%H:%M") if value is not None else ""


def _counts(wave: RolloutWave) -> Counts:
    return Counts(
        wave.size, wave.in_flight, wave.succeeded, wave.failed, wave.skipped, wave.cancelled
    )


def _view(row: Rollout, version: str, waves: list[RolloutWave]) -> RolloutView:
    total = sum((_counts(w) for w in waves), Counts())
    if row.canary_count is not None:
        canary = f"{row.canary_count} devices"
    else:
        canary = f"{row.canary_percent if row.canary_percent is not None else 1.0:g} %"
    if row.wave_sizes:
        plan = "sizes " + ", ".join(str(size) for size in row.wave_sizes)
    else:
        plan = f"growth x{row.growth if row.growth is not None else 2.0:g}"
    if row.group_id is not None:
        target = f"group {row.group_id}"
    else:
        target = TargetFilter.from_json(row.target_filter or {}).describe()
    window = (
        f"{_hhmm(row.window_start)}-{_hhmm(row.window_end)}"
        if row.window_start is not None
        else ANY_TIME
    )
    return RolloutView(
        id=row.id,
        name=row.name,
        image_id=row.image_id,
        image_version=version,
        group_id=row.group_id,
        target=target,
        state=row.state,
        pause_reason=row.pause_reason,
        current_wave=row.current_wave,
        wave_count=row.wave_count,
        excluded=row.excluded,
        counts=total,
        canary=canary,
        waves_plan=plan,
        max_in_flight=row.max_in_flight,
        max_per_model=row.max_per_model,
        failure_threshold=row.failure_threshold,
        window=window,
        time_zone=row.time_zone,
        deadline_seconds=row.deadline_seconds,
        actor=row.actor,
        created_at=row.created_at,
        started_at=row.started_at,
        paused_at=row.paused_at,
        finished_at=row.finished_at,
        waves=tuple(
            WaveView(
                w.number, w.state.value, _counts(w), w.failures_accepted, w.opened_at, w.closed_at
            )
            for w in waves
        ),
    )


def rollout_view(session: Session, rollout_id: uuid.UUID) -> RolloutView:
    """One rollout with its waves; NotFoundError for an unknown id."""
    found = session.execute(
        sa.select(Rollout, FirmwareImage.version)
        .join(FirmwareImage, FirmwareImage.id == Rollout.image_id)
        .where(Rollout.id == rollout_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if found is None:
        raise NotFoundError("no rollout has this id")
    row, version = found
    waves = session.scalars(
        sa.select(RolloutWave)
        .where(RolloutWave.rollout_id == rollout_id)
        .order_by(RolloutWave.number)
        .execution_options(populate_existing=True)
    ).all()
    return _view(row, version, list(waves))


def list_rollouts(session: Session, *, limit: int = 100) -> list[RolloutView]:
    """The newest ``limit`` rollouts, with their totals (their waves are not listed)."""
    rows = session.execute(
        sa.select(Rollout, FirmwareImage.version)
        .join(FirmwareImage, FirmwareImage.id == Rollout.image_id)
        .order_by(Rollout.created_at.desc(), Rollout.id)
        .limit(limit)
    ).all()
    ids = [row.id for row, _ in rows]
    waves: dict[uuid.UUID, list[RolloutWave]] = {rollout_id: [] for rollout_id in ids}
    for wave in session.scalars(sa.select(RolloutWave).where(RolloutWave.rollout_id.in_(ids))):
        waves[wave.rollout_id].append(wave)
    return [replace(_view(row, version, waves[row.id]), waves=()) for row, version in rows]


@dataclass(frozen=True, slots=True)
class FailureCount:
    """Devices of a rollout that failed (or were skipped) with one reason and device code."""

    state: str
    reason: str | None
    usp_code: int | None
    devices: int


def failure_breakdown(session: Session, rollout_id: uuid.UUID) -> list[FailureCount]:
    """Failed and skipped devices by reason code and USP error code, most frequent first."""
    member = RolloutDevice
    op = DeviceOperation
    count = sa.func.count().label("devices")
    rows = session.execute(
        sa.select(member.state, member.reason, op.usp_code, count)
        .outerjoin(op, sa.and_(op.origin_id == member.rollout_id, op.device_id == member.device_id))
        .where(
            member.rollout_id == rollout_id,
            member.state.in_((MemberState.FAILED, MemberState.SKIPPED)),
        )
        .group_by(member.state, member.reason, op.usp_code)
        .order_by(count.desc(), member.reason)
    ).all()
    return [FailureCount(state.value, reason, code, n) for state, reason, code, n in rows]
