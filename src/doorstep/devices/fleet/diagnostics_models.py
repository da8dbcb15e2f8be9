"""``diagnostic_runs``: one diagnostic asked of one device, by whom, on what ground (decision 0041).

A run is a ping, a trace route, or a download or upload speed test
(:class:`DiagnosticKind`) that the device's owner asked (ground ``owner``) or a staff
member asked on an after-sales ticket (``ticket``, its reference) or with the owner's
consent ``device.diagnostics_by_staff`` (``consent``, the ledger event relied on).  It
queues one ``diagnostic`` operation (:mod:`.operations`, origin ``diagnostic``); the
operation carries only the run's id, never the host or the figures.

What is personal, and for how long: everything a run says about the subscriber — their
device, their input (the host of a ping or trace route), the ground (a ticket names
them) and the figures — lives under the pack's rule ``diagnostic_result``: the row is
deleted that long after the run was asked (seven days in the reference pack).  A kind
the pack does not store (``diagnostics:`` ``store: false``) keeps its state and times
only: the result goes to the caller waiting for it, and the host is cleared when the
run ends.
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
from doorstep.privacy.retention.binding import DELETE, Binding, retention_info
from doorstep.privacy.subjects.linkage import LINK_KEY, Direct
from doorstep.vocabulary import LegalBasis, not_personal, personal

RULE = "diagnostic_result"
"""The pack's retention rule of every run (counted from ``created_at``)."""
PURPOSE = "device.diagnostics"
"""The purpose of a run by the owner or on a ticket (contract: after-sales service)."""
STAFF_CONSENT_PURPOSE = "device.diagnostics_by_staff"
"""The consent-based purpose of a run by staff without a ticket."""
_PURPOSES = [PURPOSE, STAFF_CONSENT_PURPOSE, "privacy.rights"]
_CLAUSES = ["CPE-I.ii.1.b"]


class DiagnosticKind(StrEnum):
    """Which TR-181 diagnostic a run is (``Device.IP.Diagnostics.``)."""

    PING = "ping"
    TRACEROUTE = "traceroute"
    DOWNLOAD = "download"
    UPLOAD = "upload"


class GroundKind(StrEnum):
    """Why a run was allowed."""

    OWNER = "owner"
    """The device's owner asked (their own device)."""
    TICKET = "ticket"
    """Staff asked on an after-sales ticket (its reference is recorded)."""
    CONSENT = "consent"
    """Staff asked with the owner's consent ``device.diagnostics_by_staff``."""


class RunState(StrEnum):
    """Where a run stands; ``queued`` until its operation ends (views read the operation)."""

    QUEUED = "queued"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


def _personal(category: str, description: str) -> dict[str, Any]:
    return personal(
        category,
        purposes=_PURPOSES,
        legal_basis=LegalBasis.CONTRACT,
        retention=RULE,
        clauses=_CLAUSES,
        description=description,
    )


def _plain(reason: str) -> dict[str, Any]:
    return not_personal(reason, export=True)


class DiagnosticRun(Base):
    """One diagnostic on one device: who asked, on what ground, and what it found."""

    __tablename__ = "diagnostic_runs"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid.uuid4, info=_plain("random id of the run")
    )
    device_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("devices.id"),
        info=_personal("user.unique_id.pseudonymous", "Which of your devices was tested."),
    )
    subject_id: Mapped[uuid.UUID | None] = mapped_column(
        info=_personal(
            "user.unique_id.pseudonymous",
            "Your account, the device's owner when the test was asked (none: not bound).",
        )
    )
    asked_by: Mapped[str] = mapped_column(
        sa.Text, info=_plain("'subscriber' (the owner) or the staff actor (staff:<id>)")
    )
    ground: Mapped[GroundKind] = mapped_column(
        enum_type(GroundKind, "diagnostic_ground"), info=_plain("owner, ticket or consent")
    )
    ground_ref: Mapped[str | None] = mapped_column(
        sa.Text,
        info=_personal(
            "user.unique_id.pseudonymous",
            "The after-sales ticket support named, or the id of the consent it relied on.",
        ),
    )
    purpose: Mapped[str] = mapped_column(sa.Text, info=_plain("the pack purpose the run relies on"))
    kind: Mapped[DiagnosticKind] = mapped_column(
        enum_type(DiagnosticKind, "diagnostic_kind"),
        info=_plain("ping, traceroute, download or upload"),
    )
    inputs: Mapped[dict[str, Any] | None] = mapped_column(
        JSONB,
        info=_personal(
            "user.behavior",
            "The host you chose to ping or trace (cleared when a result is not stored).",
        ),
    )
    store: Mapped[bool] = mapped_column(
        info=_plain("whether the pack keeps this kind's result (else it is relayed only)")
    )
    state: Mapped[RunState] = mapped_column(
        enum_type(RunState, "diagnostic_run_state"), info=_plain("where the run stands")
    )
    reason: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("a reason code of the operation (device_error …)")
    )
    usp_code: Mapped[int | None] = mapped_column(
        info=not_personal("the device's own USP error code, when it refused the command")
    )
    result: Mapped[dict[str, Any] | None] = mapped_column(
        JSONB,
        info=_personal(
            "user.telemetry",
            "What the test found: round trips, the route's hops, or the throughput.",
        ),
    )
    operation_id: Mapped[uuid.UUID | None] = mapped_column(
        info=not_personal("id of the device operation that runs it")
    )
    created_at: Mapped[datetime] = mapped_column(info=_plain("when the run was asked"))
    finished_at: Mapped[datetime | None] = mapped_column(info=_plain("when it ended"))

    __table_args__ = (
        sa.Index("ix_diagnostic_runs_device_created", "device_id", "created_at"),
        sa.Index("ix_diagnostic_runs_created_at", "created_at"),
        sa.Index("ix_diagnostic_runs_subject_id", "subject_id"),
        {
            "info": {
                **retention_info(Binding(RULE, DELETE, trigger="created_at")),
                LINK_KEY: Direct("subject_id"),
            }
        },
    )
