"""Tables of firmware rollouts (decision 0039): the rollout, its waves, its frozen target.

* ``rollouts``: one row per rollout: the image it installs, its target (a group id or a
  filter, resolved once at start), its wave plan (a canary share or count, then wave
  sizes or a growth factor), its caps (devices in flight per wave, per model), its
  failure threshold, its maintenance window (local start and end in a time zone), the
  deadline of each device's update, its :class:`RolloutState` and who made it.
* ``rollout_waves``: one row per planned wave with its counters (in flight, succeeded,
  failed, cancelled, skipped); the rollout's totals are their sums, so the live page
  reads a handful of rows whatever the fleet's size.
* ``rollout_devices``: the target frozen at start: one row per device, its wave and
  position (a deterministic shuffle) and where its update stands
  (:class:`MemberState`).  A device that joins the group later is not in it.

Nothing here is personal except ``rollout_devices.device_id``, a pseudonymous link to a
unit that may be bound to a subscriber; it is declared like ``device_operations``'s and
deleted with the same retention rule once its update ended.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base, enum_type
from doorstep.devices.fleet.operations import RULE
from doorstep.privacy.retention.binding import DELETE, Binding, retention_info
from doorstep.privacy.subjects.linkage import LINK_KEY, Through
from doorstep.vocabulary import LegalBasis, not_personal, personal


class RolloutState(StrEnum):
    """Where a rollout stands.

    ``draft`` ─start─► ``running`` ─pause─► ``paused`` ─resume─► ``running`` ─► ``finished``;
    a wave over its failure threshold makes it ``auto_paused`` (resumed the same way);
    ``abort`` ends any state but ``finished``.
    """

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    AUTO_PAUSED = "auto_paused"
    ABORTED = "aborted"
    FINISHED = "finished"


#: States a rollout can be paused or resumed from, or aborted in.
HALTED = (RolloutState.PAUSED, RolloutState.AUTO_PAUSED)
OPEN = (RolloutState.DRAFT, RolloutState.RUNNING, *HALTED)


class WaveState(StrEnum):
    """A wave waits (``pending``), runs (``open``) or is over (``done``)."""

    PENDING = "pending"
    OPEN = "open"
    DONE = "done"


class MemberState(StrEnum):
    """Where one device of the target stands in its rollout."""

    PENDING = "pending"
    """Not queued yet (or withdrawn by a pause: nothing was sent)."""
    QUEUED = "queued"
    """Its firmware_update operation is open (queued, running or waiting)."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    """The image does not apply to it (``not_applicable``): neither success nor failure."""
    CANCELLED = "cancelled"
    """The rollout was aborted before its update started."""


def _plain(reason: str) -> dict[str, Any]:
    return not_personal(reason, export=True)


_COUNT = "a count of devices, no link to any of them"


class Rollout(Base):
    """A firmware rollout: image, target, wave plan, caps, window, state and totals."""

    __tablename__ = "rollouts"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid.uuid4, info=_plain("random id of the rollout")
    )
    name: Mapped[str] = mapped_column(sa.Text, info=not_personal("the operator's label"))
    image_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("firmware_images.id"), info=not_personal("the image it installs")
    )
    group_id: Mapped[uuid.UUID | None] = mapped_column(
        info=not_personal("the device group it targets (or NULL: target_filter)")
    )
    target_filter: Mapped[dict[str, Any] | None] = mapped_column(
        JSONB(none_as_null=True),
        info=not_personal(
            "the target when no group: model names, firmware versions, inventory ids "
            "(product facts and random unit ids chosen by the operator)"
        ),
    )
    canary_count: Mapped[int | None] = mapped_column(info=not_personal("devices of wave 1"))
    canary_percent: Mapped[float | None] = mapped_column(
        sa.Float, info=not_personal("share of the target in wave 1, in percent")
    )
    wave_sizes: Mapped[list[int] | None] = mapped_column(
        ARRAY(sa.Integer), info=not_personal("sizes of the waves after the canary (last repeats)")
    )
    growth: Mapped[float | None] = mapped_column(
        sa.Float, info=not_personal("each wave after the canary is the previous times this")
    )
    max_in_flight: Mapped[int] = mapped_column(
        info=not_personal("devices of a wave updating at once")
    )
    max_per_model: Mapped[int | None] = mapped_column(
        info=not_personal("devices of one model updating at once (NULL: no cap)")
    )
    failure_threshold: Mapped[float] = mapped_column(
        sa.Float, info=not_personal("failed share of a wave, in percent, that pauses it")
    )
    window_start: Mapped[time | None] = mapped_column(
        sa.Time, info=not_personal("local time a maintenance window opens (NULL: any time)")
    )
    window_end: Mapped[time | None] = mapped_column(
        sa.Time, info=not_personal("local time it closes (before the start: past midnight)")
    )
    time_zone: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("IANA time zone of the window (the rollout's default)")
    )
    deadline_seconds: Mapped[int] = mapped_column(
        info=not_personal("how long one device's update may take before it fails")
    )
    state: Mapped[RolloutState] = mapped_column(
        enum_type(RolloutState, "rollout_state"), info=_plain("where it stands")
    )
    pause_reason: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("why it is paused: operator or failure_threshold")
    )
    current_wave: Mapped[int] = mapped_column(
        server_default="0", info=not_personal("the open wave's number (0 before start)")
    )
    wave_count: Mapped[int] = mapped_column(
        server_default="0", info=not_personal("how many waves were planned at start")
    )
    total: Mapped[int] = mapped_column(server_default="0", info=not_personal(_COUNT))
    excluded: Mapped[int] = mapped_column(
        server_default="0",
        info=not_personal(
            "target devices left out at start: the image is not for their model "
            "or version (a count)"
        ),
    )
    actor: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the staff or system actor who made it (staff:<id>, system:…)")
    )
    created_at: Mapped[datetime] = mapped_column(info=_plain("when it was made"))
    started_at: Mapped[datetime | None] = mapped_column(info=_plain("when it started"))
    paused_at: Mapped[datetime | None] = mapped_column(info=_plain("when it was last paused"))
    finished_at: Mapped[datetime | None] = mapped_column(
        info=_plain("when it finished or was aborted")
    )

    __table_args__ = (
        sa.CheckConstraint("(group_id IS NULL) <> (target_filter IS NULL)", name="one_target"),
        sa.CheckConstraint(
            "(window_start IS NULL) = (window_end IS NULL)", name="window_both_or_none"
        ),
        sa.Index("ix_rollouts_created_at", "created_at"),
    )


class RolloutWave(Base):
    """One wave of a rollout: its size, state and counters."""

    __tablename__ = "rollout_waves"

    rollout_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("rollouts.id", ondelete="CASCADE"),
        primary_key=True,
        info=_plain("the rollout"),
    )
    number: Mapped[int] = mapped_column(primary_key=True, info=_plain("1 is the canary"))
    size: Mapped[int] = mapped_column(info=not_personal(_COUNT))
    state: Mapped[WaveState] = mapped_column(
        enum_type(WaveState, "rollout_wave_state"), info=_plain("pending, open or done")
    )
    in_flight: Mapped[int] = mapped_column(server_default="0", info=not_personal(_COUNT))
    succeeded: Mapped[int] = mapped_column(server_default="0", info=not_personal(_COUNT))
    failed: Mapped[int] = mapped_column(server_default="0", info=not_personal(_COUNT))
    skipped: Mapped[int] = mapped_column(server_default="0", info=not_personal(_COUNT))
    cancelled: Mapped[int] = mapped_column(server_default="0", info=not_personal(_COUNT))
    failures_accepted: Mapped[bool] = mapped_column(
        server_default=sa.false(),
        info=not_personal("an operator resumed past this wave's failures"),
    )
    opened_at: Mapped[datetime | None] = mapped_column(info=_plain("when it opened"))
    closed_at: Mapped[datetime | None] = mapped_column(info=_plain("when it ended"))


class RolloutDevice(Base):
    """One device of a rollout's frozen target: its wave, position and outcome."""

    __tablename__ = "rollout_devices"

    rollout_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("rollouts.id", ondelete="CASCADE"),
        primary_key=True,
        info=_plain("the rollout"),
    )
    device_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("devices.id"),
        primary_key=True,
        info=personal(
            "user.unique_id.pseudonymous",
            purposes=["device.maintenance", "privacy.rights"],
            legal_basis=LegalBasis.CONTRACT,
            retention=RULE,
            clauses=["CPE-I.ii.1.b"],
            description="Which of your devices a firmware rollout updated.",
        ),
    )
    wave: Mapped[int] = mapped_column(info=_plain("the wave it belongs to"))
    position: Mapped[int] = mapped_column(
        info=not_personal("its place in the rollout's deterministic shuffle")
    )
    state: Mapped[MemberState] = mapped_column(
        enum_type(MemberState, "rollout_device_state"), info=_plain("where its update stands")
    )
    reason: Mapped[str | None] = mapped_column(
        sa.Text, info=_plain("the operation's reason code when it failed or was skipped")
    )
    finished_at: Mapped[datetime | None] = mapped_column(
        info=_plain("when its update ended (the retention period counts from here)")
    )

    __table_args__ = (
        sa.Index("ix_rollout_devices_pending", "rollout_id", "wave", "state", "position"),
        sa.Index(
            "ix_rollout_devices_queued",
            "rollout_id",
            postgresql_where=sa.text("state = 'queued'"),
        ),
        sa.Index("ix_rollout_devices_device_id", "device_id"),
        sa.Index("ix_rollout_devices_finished_at", "finished_at"),
        {
            "info": {
                **retention_info(Binding(RULE, DELETE, trigger="finished_at")),
                LINK_KEY: Through("device_id", "device_bindings", "device_id", "unbound_at"),
            }
        },
    )
