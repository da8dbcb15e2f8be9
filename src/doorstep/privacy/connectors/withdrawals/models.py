"""The table of withdrawals told to connected systems (``system_withdrawals``, migration 0032).

One row per consent withdrawal (or objection) and connected system that relies on
the purpose: the subject, the system, the purpose, the cause (``withdrawal`` or
``objection``) and the ledger event or restriction it came from, where telling
the system stands (:class:`WithdrawalState`), attempts, the last failure's reason,
the system's or the desk's evidence reference, a manual task's due date, who
recorded a manual outcome, and times.  Ids and codes only: the identifiers a
system is told are read from the account when the job runs, never stored here.

The rows go with their subject (rule ``until_erasure``): a subject erased before
the job ran is reached by the erasure's own fan-out instead.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.privacy.retention.binding import Binding, ErasedWithSubject, retention_info
from doorstep.vocabulary import LegalBasis, not_personal, personal

RULE = "until_erasure"


class WithdrawalState(StrEnum):
    """Where telling one system of a withdrawal stands.

    ``pending``/``running``: a job will try / is trying; ``waiting``: a manual
    system's task on the desk; ``done`` and ``not_found`` settle it; ``skipped``:
    nothing to tell (an SQL system: ``reason`` says so); ``failed``: the attempts
    ran out (``reason``), the desk may re-run it.
    """

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    DONE = "done"
    NOT_FOUND = "not_found"
    SKIPPED = "skipped"
    FAILED = "failed"


class Cause(StrEnum):
    """Why the system is told."""

    WITHDRAWAL = "withdrawal"
    OBJECTION = "objection"


def _decl(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=["consent.management"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention=RULE,
        description=description,
    )


def _when(description: str) -> dict[str, object]:
    return _decl("user.privacy_preferences", description)


class SystemWithdrawal(Base):
    """One withdrawal (or objection) told to one connected system."""

    __tablename__ = "system_withdrawals"
    __table_args__ = (
        sa.UniqueConstraint("origin_id", "system"),
        sa.Index("ix_system_withdrawals_state", "state", "created_at"),
        {"info": retention_info(Binding(RULE, ErasedWithSubject("subject_id")))},
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal(
            "random id of the task; the idempotency key sent to the system", export=True
        ),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        index=True,
        info=_decl("user.unique_id.pseudonymous", "The subject who withdrew or objected."),
    )
    system: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("key of a connected system of the pack", export=True)
    )
    purpose: Mapped[str] = mapped_column(
        sa.Text, info=_when("The purpose consent was withdrawn from, or objected to.")
    )
    cause: Mapped[str] = mapped_column(sa.Text, info=_when("withdrawal or objection."))
    origin_id: Mapped[uuid.UUID] = mapped_column(
        info=_when("The consent ledger event or the restriction it came from.")
    )
    state: Mapped[str] = mapped_column(sa.Text, info=_when("Where telling the system stands."))
    attempts: Mapped[int] = mapped_column(default=0, info=_when("Attempts made so far."))
    reason: Mapped[str | None] = mapped_column(
        sa.Text, info=_when("Why the last attempt failed or nothing was told (a short code).")
    )
    evidence: Mapped[str | None] = mapped_column(
        sa.Text, info=_when("The system's or the desk's evidence reference (never free text).")
    )
    due_at: Mapped[datetime | None] = mapped_column(
        info=_when("When a manual system's task is due.")
    )
    actor: Mapped[str | None] = mapped_column(
        sa.Text,
        info=_decl("user.unique_id.pseudonymous", "Who recorded a manual outcome (a staff actor)."),
    )
    created_at: Mapped[datetime] = mapped_column(info=_when("When the system was to be told."))
    started_at: Mapped[datetime | None] = mapped_column(info=_when("When the last attempt began."))
    finished_at: Mapped[datetime | None] = mapped_column(
        info=_when("When telling the system was settled or failed.")
    )
