"""The tables of legal holds: the holds themselves, and the work they hold back.

* ``legal_holds`` — one row per hold: whose data (the subject id), which part
  (``element``: a table or ``table.column`` of the data map; NULL holds all of
  it), the legal ground (:class:`~.basis.HoldBasis`), the authority and its
  reference, who placed and released it and when.  Ids, codes and references
  only, never a value of the held data.
* ``legal_hold_deferrals`` — a job an area could not finish because of a hold
  (the requests area's erasure, the accounts area's deregistration erasure):
  releasing a hold of that subject enqueues it (``enqueued_at``), and the job
  finishes what the released hold kept back.

Neither has a foreign key to ``subjects``: like a request, a hold outlives the
erasure it held back, as evidence of why the data was kept and until when
(rule ``legal_hold``: three years after the hold is released; erasure keeps
both tables, as it keeps requests).  Both are the subject's data: an access
export lists them.  Their bindings (delete three years after the release, or
after the deferred job was enqueued) are in
:mod:`doorstep.privacy.retention.bindings`, which sits above this package.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.vocabulary import LegalBasis, not_personal, personal

RULE = "legal_hold"
_CLAUSES = ("CPE-IV.3.b", "CPE-V.5.d")


def _held(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=["privacy.rights"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention=RULE,
        clauses=_CLAUSES,
        description=description,
    )


class LegalHold(Base):
    """One legal hold on a subject's data, or on one element of it."""

    __tablename__ = "legal_holds"
    __table_args__ = (
        # What erasure and the sweeps ask: the subject's holds still standing.
        sa.Index(
            "ix_legal_holds_subject_id",
            "subject_id",
            postgresql_where=sa.text("released_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal(
            "random reference of the hold; personal only through subject_id", export=True
        ),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        info=_held("user.unique_id.pseudonymous", "The subject whose data is held.")
    )
    element: Mapped[str | None] = mapped_column(
        sa.Text,
        info=not_personal(
            "the data-map element held (a table or table.column); NULL holds all of the "
            "subject's data",
            export=True,
        ),
    )
    basis: Mapped[str] = mapped_column(
        sa.Text, info=_held("user", "The legal ground that keeps the data (a code).")
    )
    authority: Mapped[str] = mapped_column(
        sa.Text, info=_held("user", "The authority or law that requires the data kept.")
    )
    reference: Mapped[str] = mapped_column(
        sa.Text, info=_held("user", "That authority's reference (a case or file number).")
    )
    placed_at: Mapped[datetime] = mapped_column(
        info=_held("user.privacy_preferences", "When the hold was placed.")
    )
    placed_by: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the staff actor who placed it (staff:<id>)", export=True)
    )
    released_at: Mapped[datetime | None] = mapped_column(
        info=_held("user.privacy_preferences", "When the hold was released.")
    )
    released_by: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("the staff actor who released it", export=True)
    )


class HoldDeferral(Base):
    """A job held back by a hold of the subject, enqueued when a hold of theirs is released."""

    __tablename__ = "legal_hold_deferrals"
    __table_args__ = (
        sa.Index(
            "ix_legal_hold_deferrals_subject_id",
            "subject_id",
            postgresql_where=sa.text("enqueued_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True, default=uuid.uuid4, info=not_personal("random id", export=True)
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        info=_held("user.unique_id.pseudonymous", "The subject whose hold held the job back.")
    )
    task: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the job to run once released (a task name)", export=True)
    )
    arguments: Mapped[dict[str, object]] = mapped_column(
        info=not_personal("the job's arguments: ids only (a request id)", export=True)
    )
    queueing_lock: Mapped[str | None] = mapped_column(
        sa.Text,
        unique=True,
        info=not_personal("task and ids while the job waits: one deferral per job (NULL after)"),
    )
    deferred_at: Mapped[datetime] = mapped_column(
        info=_held("user.privacy_preferences", "When the job was held back.")
    )
    enqueued_at: Mapped[datetime | None] = mapped_column(
        info=_held("user.privacy_preferences", "When a release let it run.")
    )
