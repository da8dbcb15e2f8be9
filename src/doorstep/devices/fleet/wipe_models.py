"""``device_wipes``: removals of a subscriber's settings from a router (decision 0042).

One row per removal asked for: the device, whose settings they were (``subject_id``),
what triggered it (:class:`WipeTrigger`), the mode, where it stands
(:class:`WipeState`) and, per part (:data:`PARTS`: ``pppoe``, ``wifi``, ``hosts``),
what the router did (:class:`PartOutcome`).  The work itself is one
``wipe_settings`` operation of the fleet queue (origin ``wipe``, ``origin_id`` = this
row's id, decision 0038); its end updates the row in the same transaction
(:mod:`.wipe_origin`).

Data map: after an unbinding the subscriber no longer owns the device, so the row
keeps ``subject_id`` itself, so that the confirmation and the subscriber's export can
name it.  That link is ``until_erasure`` (``ON DELETE SET NULL``): erasing the subject
empties it and the row stays as the operator's record that the router was cleared,
deleted one year after it ended (rule ``device_operation``, as the operation's row).
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
from doorstep.core.settings.wipe import WipeMode
from doorstep.privacy.retention.binding import DELETE, Binding, ErasedWithSubject, retention_info
from doorstep.privacy.subjects.linkage import LINK_KEY, Direct
from doorstep.vocabulary import LegalBasis, not_personal, personal

PURPOSE = "device.settings_removal"
"""The pack purpose of every request of a removal, and of this table's links."""
RULE = "device_operation"
"""Rows are deleted this long after they ended (the operation's own rule)."""
PARTS = ("pppoe", "wifi", "hosts")
"""What a removal clears: PPPoE account and password, Wi-Fi name and password, host table."""

__all__ = ["PARTS", "PURPOSE", "RULE", "DeviceWipe", "PartOutcome", "WipeState", "WipeTrigger"]


class WipeTrigger(StrEnum):
    """Why the router is cleared."""

    UNBIND = "unbind"
    """Its owner removed it from their account and asked for it (the default)."""
    RETURNED = "returned"
    """Staff marked it returned to the operator (offered, on by default)."""
    RESOLD = "resold"
    """Staff marked it resold (always)."""


class WipeState(StrEnum):
    """Where a removal stands."""

    PENDING = "pending"
    """Queued, or under way: the router is cleared the next time it is online."""
    SUCCEEDED = "succeeded"
    """Every part done, or not offered by the model (read back where the model allows)."""
    FAILED = "failed"
    """The router refused a part, or never came back before the deadline (``reason``)."""


class PartOutcome(StrEnum):
    """What happened to one part of the settings."""

    PENDING = "pending"
    DONE = "done"
    """Removed, and the read-back (or, for passwords the router never shows, its answer
    to the Set) confirms it."""
    NOT_SUPPORTED = "not_supported"
    """The model has no such object, or does not let a controller delete its entries."""
    REFUSED = "refused"
    """The router answered with an error (the row's ``usp_code``)."""
    NOT_CONFIRMED = "not_confirmed"
    """The router accepted the change but the read-back shows something else."""


def _link(description: str) -> dict[str, Any]:
    return personal(
        "user.unique_id.pseudonymous",
        purposes=[PURPOSE, "privacy.rights"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention=RULE,
        clauses=["CPE-I.iii.R2"],
        description=description,
    )


def _plain(reason: str) -> dict[str, Any]:
    return not_personal(reason, export=True)


class DeviceWipe(Base):
    """One removal of a subscriber's settings from a router, from its request to its outcome."""

    __tablename__ = "device_wipes"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=_plain("random id of the removal; the origin id of its device operation"),
    )
    device_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("devices.id"),
        info=_link("Which router your settings were removed from."),
    )
    subject_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="SET NULL"),
        info=personal(
            "user.unique_id.pseudonymous",
            purposes=[PURPOSE, "privacy.rights"],
            legal_basis=LegalBasis.LEGAL_OBLIGATION,
            retention="until_erasure",
            clauses=["CPE-I.iii.R2"],
            description="Whose settings they were (your account), so that the confirmation "
            "can name you; emptied when you are erased.",
        ),
    )
    trigger: Mapped[WipeTrigger] = mapped_column(
        enum_type(WipeTrigger, "device_wipe_trigger"),
        info=_plain("unbind, returned or resold: one of three fixed reasons"),
    )
    mode: Mapped[WipeMode] = mapped_column(
        enum_type(WipeMode, "device_wipe_mode"), info=_plain("parameters or factory_reset")
    )
    state: Mapped[WipeState] = mapped_column(
        enum_type(WipeState, "device_wipe_state"), info=_plain("pending, succeeded or failed")
    )
    parts: Mapped[dict[str, str]] = mapped_column(
        JSONB, info=_plain("per part (pppoe, wifi, hosts): done, not_supported, refused …")
    )
    reason: Mapped[str | None] = mapped_column(
        sa.Text, info=_plain("why it failed: a reason code of the operation (unreachable …)")
    )
    usp_code: Mapped[int | None] = mapped_column(
        info=_plain("the router's own USP error code, when it refused")
    )
    requested_by: Mapped[str] = mapped_column(
        sa.Text,
        info=not_personal("who asked: 'subscriber', or the staff or system actor (staff:<id>)"),
    )
    requested_at: Mapped[datetime] = mapped_column(info=_plain("when it was asked for"))
    finished_at: Mapped[datetime | None] = mapped_column(info=_plain("when it ended"))
    notified_at: Mapped[datetime | None] = mapped_column(
        info=not_personal("when the confirmation to the subscriber was queued", export=True)
    )

    __table_args__ = (
        sa.Index("ix_device_wipes_device_id", "device_id"),
        sa.Index("ix_device_wipes_subject_id", "subject_id"),
        sa.Index("ix_device_wipes_finished_at", "finished_at"),
        sa.Index(
            "ix_device_wipes_pending",
            "device_id",
            postgresql_where=sa.text("state = 'pending'"),
        ),
        {
            "info": {
                **retention_info(
                    Binding(RULE, DELETE, trigger="finished_at"),
                    Binding("until_erasure", ErasedWithSubject("subject_id")),
                ),
                LINK_KEY: Direct("subject_id"),
            }
        },
    )
