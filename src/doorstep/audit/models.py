"""Tables of the audit trail.

* ``audit_events`` — one row per recorded event, written in the caller's
  transaction.  Ids and names only, never a personal-data value.
* ``audit_pending`` — the ids of committed events not sealed yet (filled by a
  trigger on ``audit_events``, emptied by the sealer): a work queue, so the
  sealer never scans the whole trail for what it has not chained.
* ``audit_chain`` — one link per sealed event, in seal order: ``seq``,
  ``prev_hash`` and ``hash = sha256(prev_hash || seq || canonical event)``.
* ``audit_checkpoints`` — the hash at a ``seq``, so verification can start there
  (and a later retention sweep can prune the links before it).

``audit_events``, ``audit_chain`` and ``audit_checkpoints`` are append-only: the
database refuses UPDATE, DELETE and TRUNCATE on them (migration 0002).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.vocabulary import LegalBasis, not_personal, personal

#: Retention rule of the trail in the policy pack (datamap.yaml).
RETENTION_RULE = "audit_trail"
_CLAUSES = ("CPE-IV.1.a",)


def _pseudonymous_id(description: str, *, subject: str = "customer") -> dict[str, object]:
    return personal(
        "user.unique_id.pseudonymous",
        subject=subject,
        purposes=["security.audit"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention=RETENTION_RULE,
        clauses=_CLAUSES,
        description=description,
    )


class AuditEvent(Base):
    """One use of personal data, consent event, admin action, request or sweep step."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(
        sa.BigInteger,
        sa.Identity(always=True),
        primary_key=True,
        info=not_personal("database-assigned sequence number of the event", export=True),
    )
    at: Mapped[datetime] = mapped_column(
        server_default=sa.func.now(),
        info=not_personal(
            "the instant of the event; identifies nobody without subject_id", export=True
        ),
    )
    actor: Mapped[str] = mapped_column(
        sa.Text,
        info=_pseudonymous_id(
            "Who acted, as kind:id (subject:<uuid>, staff:<uuid>, system:<name>); an id, "
            "never a name or address.  Staff actors are employees of the operator."
        ),
    )
    action: Mapped[str] = mapped_column(
        sa.Text,
        info=not_personal("name of the action from the code's fixed vocabulary", export=True),
    )
    purpose: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("key of a purpose of the policy pack", export=True)
    )
    element: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("name of a data-map element (table.column)", export=True)
    )
    subject_id: Mapped[uuid.UUID | None] = mapped_column(
        index=True,
        info=_pseudonymous_id("The data subject whose data was used; a random id."),
    )
    outcome: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("ok, refused, failed …: a fixed vocabulary", export=True)
    )
    details: Mapped[dict[str, object]] = mapped_column(
        info=_pseudonymous_id(
            "Further ids (request, device, consent, job ids …), validated to be ids only."
        ),
    )


class AuditPending(Base):
    """An event that is committed but not sealed into the chain yet."""

    __tablename__ = "audit_pending"

    event_id: Mapped[int] = mapped_column(
        sa.BigInteger,
        primary_key=True,
        autoincrement=False,
        info=not_personal("id of an audit event awaiting sealing"),
    )


class AuditLink(Base):
    """One link of the hash chain: the ``seq``-th sealed event."""

    __tablename__ = "audit_chain"

    seq: Mapped[int] = mapped_column(
        sa.BigInteger,
        primary_key=True,
        autoincrement=False,
        info=not_personal("position in the chain, 1, 2, 3 … without gaps"),
    )
    event_id: Mapped[int] = mapped_column(
        sa.BigInteger,
        sa.ForeignKey("audit_events.id"),
        unique=True,
        info=not_personal("id of the sealed audit event"),
    )
    prev_hash: Mapped[bytes] = mapped_column(
        sa.LargeBinary, info=not_personal("SHA-256 of the previous link")
    )
    hash: Mapped[bytes] = mapped_column(
        sa.LargeBinary, info=not_personal("SHA-256 over prev_hash, seq and the event")
    )

    __table_args__ = (
        sa.CheckConstraint("octet_length(prev_hash) = 32", name="prev_hash_is_sha256"),
        sa.CheckConstraint("octet_length(hash) = 32", name="hash_is_sha256"),
        sa.CheckConstraint("seq > 0", name="seq_positive"),
    )


class AuditCheckpoint(Base):
    """The chain's hash at ``seq``: a trusted starting point for verification."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(
        sa.BigInteger,
        primary_key=True,
        autoincrement=False,
        info=not_personal("the chain position the checkpoint vouches for"),
    )
    hash: Mapped[bytes] = mapped_column(
        sa.LargeBinary, info=not_personal("SHA-256 of the link at seq")
    )
    at: Mapped[datetime] = mapped_column(info=not_personal("when the checkpoint was taken"))

    __table_args__ = (sa.CheckConstraint("octet_length(hash) = 32", name="hash_is_sha256"),)
