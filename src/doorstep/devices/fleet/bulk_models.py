"""The table of bulk actions (``bulk_actions``): one action on every device of a group.

A row holds what to do (an operation kind and its non-personal arguments), on which
devices (a copy of the group's filter, and the group's id while it exists), how fast
(at most ``max_in_flight`` operations open and ``per_minute`` queued in any minute),
who asked and under which purpose, and how far it got: a keyset cursor over the
matching devices in id order (``cursor``, ``exhausted``), the per-minute window,
and counts of queued, succeeded, failed and cancelled operations.  The per-device
results are the ``device_operations`` rows whose ``origin_id`` is the action's id
(:mod:`.bulk`).

Nothing here is personal data: ids, model names, versions, tags, parameter paths
and values of the pack's ``bulk_parameters:`` allow-list, counts and times.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base, enum_type
from doorstep.devices.fleet.operations import OperationKind
from doorstep.vocabulary import not_personal


class BulkState(StrEnum):
    """Where a bulk action stands."""

    RUNNING = "running"
    """Batches are being released; some operations may be open."""
    FINISHED = "finished"
    """Every matching device got its operation and every operation ended."""
    CANCELLED = "cancelled"
    """Stopped by an operator: queued operations cancelled, those in flight end on their own."""


class BulkAction(Base):
    """One bulk action and its progress."""

    __tablename__ = "bulk_actions"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal("random id; the origin_id of its device_operations"),
    )
    kind: Mapped[OperationKind] = mapped_column(
        enum_type(OperationKind, "device_operation_kind"),
        info=not_personal("reboot, set_parameters, diagnostic or firmware_update"),
    )
    args: Mapped[dict[str, Any]] = mapped_column(
        JSONB,
        info=not_personal(
            "the operation's arguments: paths and values of the pack's bulk_parameters "
            "allow-list, an image id, a diagnostic's test; never a subscriber's setting"
        ),
    )
    group_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("device_groups.id", ondelete="SET NULL"),
        info=not_personal("the group it was made from, while that group exists"),
    )
    filter: Mapped[dict[str, Any]] = mapped_column(
        JSONB,
        info=not_personal("its own copy of the device filter (models, versions, tags)"),
    )
    max_in_flight: Mapped[int] = mapped_column(
        info=not_personal("most operations of the action open at once")
    )
    per_minute: Mapped[int] = mapped_column(
        info=not_personal("most operations queued in any minute")
    )
    purpose: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the pack purpose its operations run under")
    )
    actor: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the staff or system actor who started it")
    )
    state: Mapped[BulkState] = mapped_column(
        enum_type(BulkState, "bulk_action_state"), info=not_personal("where it stands")
    )
    total: Mapped[int] = mapped_column(
        info=not_personal("devices matching the filter when it started")
    )
    cursor: Mapped[uuid.UUID | None] = mapped_column(
        info=not_personal("id of the last device a batch reached (keyset cursor)")
    )
    exhausted: Mapped[bool] = mapped_column(
        server_default=sa.false(), info=not_personal("the cursor reached the last device")
    )
    queued: Mapped[int] = mapped_column(
        server_default="0", info=not_personal("operations queued so far")
    )
    succeeded: Mapped[int] = mapped_column(server_default="0", info=not_personal("a count"))
    failed: Mapped[int] = mapped_column(server_default="0", info=not_personal("a count"))
    cancelled: Mapped[int] = mapped_column(server_default="0", info=not_personal("a count"))
    window_start: Mapped[datetime | None] = mapped_column(
        info=not_personal("start of the current one-minute throttle window")
    )
    window_queued: Mapped[int] = mapped_column(
        server_default="0", info=not_personal("operations queued in the current window")
    )
    created_at: Mapped[datetime] = mapped_column(info=not_personal("when it started"))
    finished_at: Mapped[datetime | None] = mapped_column(
        info=not_personal("when it finished or was cancelled")
    )

    __table_args__ = (
        sa.CheckConstraint("max_in_flight > 0 AND per_minute > 0", name="throttle_positive"),
        sa.Index(
            "ix_bulk_actions_running", "created_at", postgresql_where=sa.text("state = 'running'")
        ),
        sa.Index("ix_bulk_actions_created_at", "created_at"),
    )
