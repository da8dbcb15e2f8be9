"""The tables of completion events (``completion_events``, migration 0030) and their sources.

One row per closed record of a connected system: the system, the kind of
record (as the pack's ``completions:`` names it), the record's id in that
system, the Doorstep subject it belongs to when known, when it was closed, the
retention rule it schedules and when the deletion is due, and where that
deletion stands (:class:`CompletionState`), with attempts, the last failure's
reason, rows changed and times.

The record's id (an order number, an account id) is personal: the system links
it to a person.  The subject's own erasure keeps these rows (their rule's
trigger is ``request_closed``): the deletion they schedule must still happen.
The clauses (CORP-5.4, CPE-IV.1.b) are the rule's, in the pack, so that a pack
of other clause ids (example-isp) declares the same columns.

``completion_sources`` (migration 0032) keeps, per system and kind of record
whose ``source:`` the pack declares, the watermark of the periodic scan (the
latest closing date recorded), when it last ran, how many events it recorded
and the reason of its last failure.  Nothing there is personal: a date, counts
and codes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.privacy.retention.binding import DELETE, Binding, retention_info
from doorstep.vocabulary import LegalBasis, not_personal, personal

RULE = "completion_event"


class CompletionState(StrEnum):
    """Where the deletion a completion event schedules stands.

    ``scheduled`` waits for ``due_at`` (and is retried after a failure until
    the attempts run out: ``failed``); ``held`` is kept by a standing legal hold
    of the subject (back to ``scheduled`` on release); ``manual`` waits for the
    desk (a manual system); ``done`` is carried out.
    """

    SCHEDULED = "scheduled"
    HELD = "held"
    MANUAL = "manual"
    DONE = "done"
    FAILED = "failed"


def _decl(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=["privacy.rights"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention=RULE,
        description=description,
    )


class CompletionEvent(Base):
    """A closed record of a connected system and the deletion it schedules."""

    __tablename__ = "completion_events"
    __table_args__ = (
        sa.UniqueConstraint("system", "kind", "record_id"),
        # what the carrying-out sweep reads: the due events still to do
        sa.Index(
            "ix_completion_events_due_at", "due_at", postgresql_where=sa.text("done_at IS NULL")
        ),
        # what the retention sweep reads: done events, one year on
        sa.Index("ix_completion_events_done_at", "done_at"),
        {"info": retention_info(Binding(RULE, DELETE, trigger="done_at"))},
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal(
            "random id of the event; the idempotency key sent to the system", export=True
        ),
    )
    system: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("key of a connected system of the pack", export=True)
    )
    kind: Mapped[str] = mapped_column(
        sa.Text,
        info=not_personal("kind of record (order, ticket …) as the pack names it", export=True),
    )
    record_id: Mapped[str] = mapped_column(
        sa.Text, info=_decl("user.unique_id", "The record's id in the system (an order number …).")
    )
    subject_id: Mapped[uuid.UUID | None] = mapped_column(
        index=True,
        info=_decl("user.unique_id.pseudonymous", "The subject the record belongs to, if known."),
    )
    completed_at: Mapped[datetime] = mapped_column(
        info=_decl("user.behavior", "When the record was closed in the system.")
    )
    rule: Mapped[str] = mapped_column(
        sa.Text,
        info=not_personal("the retention rule of the pack the event schedules", export=True),
    )
    due_at: Mapped[datetime] = mapped_column(
        info=not_personal("when the deletion is due: the event plus the rule's period", export=True)
    )
    state: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("scheduled, held, manual, done or failed", export=True)
    )
    attempts: Mapped[int] = mapped_column(
        default=0, info=not_personal("attempts made so far", export=True)
    )
    reason: Mapped[str | None] = mapped_column(
        sa.Text,
        info=not_personal("why the last attempt failed (a short code), or held", export=True),
    )
    rows: Mapped[int | None] = mapped_column(
        info=not_personal("rows the system changed", export=True)
    )
    evidence: Mapped[str | None] = mapped_column(
        sa.Text,
        info=not_personal("the system's or the desk's evidence reference (an id)", export=True),
    )
    recorded_by: Mapped[str] = mapped_column(
        sa.Text, info=_decl("user.unique_id.pseudonymous", "Who recorded the event (an actor).")
    )
    created_at: Mapped[datetime] = mapped_column(
        info=not_personal("when the event was recorded", export=True)
    )
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        info=not_personal("after a failure: not before this instant", export=True)
    )
    done_at: Mapped[datetime | None] = mapped_column(
        info=not_personal(
            "when the deletion was carried out (or the desk confirmed it)", export=True
        )
    )


class CompletionSourceState(Base):
    """Where the periodic scan of one completion ``source:`` stands (its watermark)."""

    __tablename__ = "completion_sources"

    system: Mapped[str] = mapped_column(
        sa.Text,
        primary_key=True,
        info=not_personal("key of a connected system of the pack"),
    )
    kind: Mapped[str] = mapped_column(
        sa.Text,
        primary_key=True,
        info=not_personal("kind of record (order …) as the pack names it"),
    )
    watermark: Mapped[datetime | None] = mapped_column(
        info=not_personal("the latest closing instant recorded: the next scan starts there")
    )
    scanned_at: Mapped[datetime | None] = mapped_column(
        info=not_personal("when the scan last finished or failed")
    )
    recorded: Mapped[int] = mapped_column(
        default=0, info=not_personal("events the scan has recorded so far")
    )
    refused: Mapped[int] = mapped_column(
        default=0,
        info=not_personal("rows the scan could not record (a key that is no reference)"),
    )
    reason: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("why the last scan failed (a short code), if it did")
    )
