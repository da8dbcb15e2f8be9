"""The table of each request's work in each connected system (issue 18, decision 0033).

One row per request and system (``request_systems``): the operation (access
or erasure), where it stands (:class:`SystemState`), attempts, the failure
reason or the recorded exception, rows touched, an evidence reference, the due
date of a manual task, and times.  What the connector needs — the subject's
identifiers and the requester's address — is ``sealed`` under a data key of the
row wrapped by the keyring (``kek_id``, ``wrapped_key``), never the subject's
key: Doorstep's own erasure destroys that key while slow systems still work.
A system's exported part waits in ``result`` (sealed the same way) until the
export ZIP is built.  Both are emptied when the request closes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.privacy.retention.binding import DELETE, Binding, Via, retention_info
from doorstep.vocabulary import LegalBasis, not_personal, personal
from doorstep.vocabulary.export_decisions import omitted

_CLAUSES = ("CPE-V.6.b", "CORP-4.2")


class SystemState(StrEnum):
    """Where a system's part of a request stands.

    ``done``, ``not_found`` and ``excepted`` settle it; ``failed`` waits for a
    re-run (or a recorded exception); ``waiting`` is a manual task on the desk or
    an HTTP system that accepted and answers later; ``cancelled``: the request was
    refused before the system's part was settled (``reason``: the refusal code).
    """

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    DONE = "done"
    NOT_FOUND = "not_found"
    EXCEPTED = "excepted"
    FAILED = "failed"
    CANCELLED = "cancelled"


SETTLED = frozenset(
    {SystemState.DONE, SystemState.NOT_FOUND, SystemState.EXCEPTED, SystemState.CANCELLED}
)


class Operation(StrEnum):
    """What the request asks of the system."""

    ACCESS = "access"
    ERASURE = "erasure"


class Excepted(StrEnum):
    """A recorded reason a system's part is settled without doing it."""

    LEGAL_HOLD = "legal_hold"
    LEGAL_RETENTION = "legal_retention"


def _req(category: str, description: str, **extra: object) -> dict[str, object]:
    return personal(
        category,
        purposes=["privacy.rights"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="subject_request",
        clauses=_CLAUSES,
        description=description,
        **extra,  # type: ignore[arg-type]
    )


def _when(description: str) -> dict[str, object]:
    return _req("user.privacy_preferences", description)


_SEALED_REASON = (
    "a sealed working copy, for the connected systems, of identifiers and contact details "
    "the export shows where they are kept; emptied when the request closes"
)


class RequestSystem(Base):
    """One request's part in one connected system of the pack."""

    __tablename__ = "request_systems"
    __table_args__ = (
        sa.UniqueConstraint("request_id", "system"),
        sa.Index(
            "ix_request_systems_fresh",
            "system",
            "operation",
            "created_at",
            postgresql_where=sa.text("state = 'pending' AND attempts = 0"),
        ),
        {
            "info": retention_info(
                Binding("subject_request", DELETE, trigger=Via("request_id", "closed_at"))
            )
        },
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal(
            "random id of the task; the idempotency key sent to the system", export=True
        ),
    )
    request_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subject_requests.id", ondelete="CASCADE"),
        index=True,
        info=not_personal("reference of the request", export=True),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        index=True, info=_req("user.unique_id.pseudonymous", "The subject the request is about.")
    )
    system: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("key of a connected system of the pack", export=True)
    )
    operation: Mapped[str] = mapped_column(
        sa.Text, info=_when("What the system is asked to do (access or erasure).")
    )
    state: Mapped[str] = mapped_column(sa.Text, info=_when("Where the system's part stands."))
    attempts: Mapped[int] = mapped_column(default=0, info=_when("Attempts made so far."))
    reason: Mapped[str | None] = mapped_column(
        sa.Text, info=_when("Why the last attempt failed (a short code: timeout, garbage …).")
    )
    exception: Mapped[str | None] = mapped_column(
        sa.Text, info=_when("The recorded exception (legal_hold, legal_retention), if any.")
    )
    rows: Mapped[int | None] = mapped_column(info=_when("Rows the system found or changed."))
    evidence: Mapped[str | None] = mapped_column(
        sa.Text, info=_when("The system's or the desk's evidence reference (never free text).")
    )
    actor: Mapped[str | None] = mapped_column(
        sa.Text,
        info=_req("user.unique_id.pseudonymous", "Who recorded a manual outcome (a staff actor)."),
    )
    kek_id: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("id of the key-encryption key that wraps the row's data key")
    )
    wrapped_key: Mapped[bytes | None] = mapped_column(
        sa.LargeBinary, info=not_personal("the row's data key, wrapped by the keyring")
    )
    sealed: Mapped[bytes | None] = mapped_column(
        sa.LargeBinary,
        info=_req(
            "user.contact",
            "The identifiers to look for and the requester's address, sealed.",
            export=omitted(_SEALED_REASON),
        ),
    )
    result: Mapped[bytes | None] = mapped_column(
        sa.LargeBinary,
        info=_req(
            "user",
            "The system's part of an access export, sealed until the ZIP is built.",
            export=omitted("the system's part is in the export itself, marked by system"),
        ),
    )
    due_at: Mapped[datetime | None] = mapped_column(
        info=_when("When a manual task is due (inside the request's deadline).")
    )
    created_at: Mapped[datetime] = mapped_column(info=_when("When the request reached the system."))
    started_at: Mapped[datetime | None] = mapped_column(info=_when("When the last attempt began."))
    finished_at: Mapped[datetime | None] = mapped_column(
        info=_when("When the system's part was settled or failed.")
    )
    leased_by: Mapped[str | None] = mapped_column(
        sa.Text,
        info=not_personal(
            "the attempt (a job id) that holds the running task, during it", export=True
        ),
    )
    lease_until: Mapped[datetime | None] = mapped_column(
        info=not_personal("when the running attempt's hold on the task lapses", export=True)
    )
