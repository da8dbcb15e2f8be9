"""The table of data-subject requests: one row per request, its state and its clock.

A request holds ids, codes and instants only (never what the requester wrote);
every change of state is also an audit event (``request.*``), which is the
evidence trail.  ``subject_id`` has no foreign key on purpose: the row outlives
the subject it is about (retention ``subject_request``: three years after the
request is closed), as proof that an erasure was asked for and done.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base, enum_type
from doorstep.privacy.retention.binding import DELETE, Binding, retention_info
from doorstep.vocabulary import LegalBasis, not_personal, personal

_CLAUSES = ("CPE-V.6.b", "CORP-4.2")


class RequestKind(StrEnum):
    """What the requester asks for (CORP-4.2, CPE-V)."""

    ACCESS = "access"
    PORTABILITY = "portability"
    CORRECTION = "correction"
    DELETION = "deletion"
    RESTRICTION = "restriction"
    OBJECTION = "objection"
    CONSENT_WITHDRAWAL = "consent_withdrawal"
    DEREGISTRATION = "deregistration"


class RequestStatus(StrEnum):
    """Where a request stands; ``completed`` and ``refused`` are final."""

    RECEIVED = "received"
    VERIFYING = "verifying"
    IN_PROGRESS = "in_progress"
    EXTENDED = "extended"
    COMPLETED = "completed"
    REFUSED = "refused"


class RequestChannel(StrEnum):
    """How the request reached us (CPE-IX.3, CORP-9.2: post is an intake channel)."""

    APP = "app"
    WEB_FORM = "web_form"
    EMAIL = "email"
    POST = "post"
    STAFF = "staff"


def _req(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=["privacy.rights"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="subject_request",
        clauses=_CLAUSES,
        description=description,
    )


def _when(description: str) -> dict[str, object]:
    return _req("user.privacy_preferences", description)


class SubjectRequest(Base):
    """One data-subject request and its deadline clock."""

    __tablename__ = "subject_requests"
    __table_args__ = (
        {"info": retention_info(Binding("subject_request", DELETE, trigger="closed_at"))},
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal(
            "random reference of the request; personal only through subject_id", export=True
        ),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        index=True,
        info=_req("user.unique_id.pseudonymous", "The subject the request is about."),
    )
    kind: Mapped[RequestKind] = mapped_column(
        enum_type(RequestKind, "subject_request_kind"), info=_when("What the requester asked for.")
    )
    status: Mapped[RequestStatus] = mapped_column(
        enum_type(RequestStatus, "subject_request_status"), info=_when("Where the request stands.")
    )
    channel: Mapped[RequestChannel] = mapped_column(
        enum_type(RequestChannel, "subject_request_channel"), info=_when("How it reached us.")
    )
    jurisdiction: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("key of a deadline rule of the settings, e.g. gdpr", export=True)
    )
    queue: Mapped[str] = mapped_column(
        sa.Text,
        info=not_personal(
            "key of the department queue that owns the request (CPE-IX.1)", export=True
        ),
    )
    purpose: Mapped[str | None] = mapped_column(
        sa.Text, info=_when("Purpose objected to, restricted or withdrawn (a pack key).")
    )
    ground: Mapped[str | None] = mapped_column(
        sa.Text, info=_when("Ground code of an erasure request (CPE-V.3.b).")
    )
    received_at: Mapped[datetime] = mapped_column(info=_when("When the request was received."))
    due_at: Mapped[datetime] = mapped_column(
        index=True, info=_when("When the answer is due, pauses and extension included.")
    )
    paused_since: Mapped[datetime | None] = mapped_column(
        info=_when("Since when the requester owes identity proof (the clock is paused).")
    )
    paused_seconds: Mapped[int] = mapped_column(
        default=0, info=_when("Seconds the clock was paused for identity proof so far.")
    )
    verified_at: Mapped[datetime | None] = mapped_column(info=_when("When identity was proven."))
    verification: Mapped[str | None] = mapped_column(
        sa.Text, info=_when("How identity was proven (a method code, CPE-V.6.a).")
    )
    extended_months: Mapped[int] = mapped_column(
        default=0, info=_when("Months the deadline was extended by.")
    )
    extension_reason: Mapped[str | None] = mapped_column(
        sa.Text, info=_when("Reason code given with the extension notice.")
    )
    refusal_code: Mapped[str | None] = mapped_column(
        sa.Text, info=_when("Reason code of a refusal (CPE-V.6.d, CPE-V.6.e).")
    )
    fee_due: Mapped[bool] = mapped_column(
        default=False, info=_when("Whether a fee was quoted for a repeated request (CPE-V.6.c).")
    )
    reviewer: Mapped[str | None] = mapped_column(
        sa.Text, info=_req("user.unique_id.pseudonymous", "The staff actor who decided.")
    )
    reminded_at: Mapped[datetime | None] = mapped_column(
        info=_when("When the privacy desk was reminded of the deadline.")
    )
    escalated_at: Mapped[datetime | None] = mapped_column(
        info=_when("When the overdue request was escalated.")
    )
    closed_at: Mapped[datetime | None] = mapped_column(
        info=_when("When the request was completed or refused.")
    )
    proof_hash: Mapped[bytes | None] = mapped_column(
        sa.LargeBinary,
        info=_req("user.authorization.credentials", "Keyed hash of the one-time proof code."),
    )
    proof_expires_at: Mapped[datetime | None] = mapped_column(
        info=_when("When the one-time proof code expires.")
    )
    proof_attempts: Mapped[int] = mapped_column(
        default=0, info=_when("Wrong proof codes entered so far.")
    )
    element: Mapped[str | None] = mapped_column(
        sa.Text, info=_when("The data-map element (table.column) a correction is about.")
    )
    new_value: Mapped[bytes | None] = mapped_column(
        sa.LargeBinary,
        info=personal(
            "user",
            purposes=["privacy.rights"],
            legal_basis=LegalBasis.LEGAL_OBLIGATION,
            retention="subject_request",
            clauses=("CPE-V.2.b", "CORP-4.2"),
            secret=True,
            description="The corrected value asked for, encrypted with the subject's key.",
        ),
    )
    old_value_hash: Mapped[bytes | None] = mapped_column(
        sa.LargeBinary,
        info=_req(
            "user.unique_id.pseudonymous",
            "Keyed hash of the value a correction replaced (proves what changed, shows nothing).",
        ),
    )


class ErasureTombstone(Base):
    """Proof that a subject was erased, replayed after a backup restore (CPE-V.3.d).

    The ids are exported (``doorstep requests tombstones``) to wherever backups
    are not: restoring a backup and then replaying the newest list erases
    again every subject the backup brought back.
    """

    __tablename__ = "erasure_tombstones"
    __table_args__ = (
        {"info": retention_info(Binding("subject_request", DELETE, trigger="erased_at"))},
    )

    subject_id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        info=_req("user.unique_id.pseudonymous", "The erased subject (an id, nothing else)."),
    )
    request_id: Mapped[uuid.UUID | None] = mapped_column(
        info=not_personal("reference of the request that asked for the erasure", export=True)
    )
    erased_at: Mapped[datetime] = mapped_column(info=_when("When the subject was erased."))


def _download(category: str, description: str, *, secret: bool = False) -> dict[str, object]:
    return personal(
        category,
        purposes=["privacy.rights"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="export_download",
        clauses=("CPE-V.1.c", "CORP-4.4"),
        secret=secret,
        description=description,
    )


class RequestExport(Base):
    """The prepared ZIP of an access or portability request, encrypted with the subject's key.

    Built once by the ``requests.export`` job in the transaction that completes
    the request, downloaded by the requester until ``expires_at``, then deleted
    by the retention sweep (rule ``export_download``).  Erasure deletes it with
    the subject, and destroying the subject's key shreds every backup copy.
    """

    __tablename__ = "request_exports"
    __table_args__ = (
        {
            "info": {
                **retention_info(Binding("export_download", DELETE, trigger="created_at")),
                # Left out of later exports: it is a copy of data the export itself holds.
                "export_left_out": "earlier exports: copies of the data this export holds",
            }
        },
    )

    request_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subject_requests.id", ondelete="CASCADE"),
        primary_key=True,
        info=not_personal("reference of the request the export answers"),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        index=True, info=_download("user.unique_id.pseudonymous", "Whose data the export holds.")
    )
    archive: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        info=_download("user", "The ZIP (JSON, CSV, README), encrypted.", secret=True),
    )
    size_bytes: Mapped[int] = mapped_column(info=not_personal("size of the ZIP in bytes"))
    rows: Mapped[int] = mapped_column(info=not_personal("number of rows the export holds"))
    created_at: Mapped[datetime] = mapped_column(
        info=_download("user.privacy_preferences", "When the export was prepared.")
    )
    expires_at: Mapped[datetime] = mapped_column(
        info=_download("user.privacy_preferences", "Until when it can be downloaded.")
    )
    downloaded_at: Mapped[datetime | None] = mapped_column(
        info=_download("user.privacy_preferences", "When it was first downloaded.")
    )
