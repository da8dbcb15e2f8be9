"""The consent ledger: one append-only row per consent decision.

``consent_events`` holds every grant, refusal and withdrawal of a subject for a
consent-based purpose, with the policy version, the channel, the instant (from
the injected clock) and the SHA-256 of the notice text the subject was shown.
The database refuses UPDATE and TRUNCATE on it, and DELETE while the subject
still exists (migration 0004): only erasing the subject removes its ledger.

``consent_state`` is a SQL view (not a table of the models): the latest event
per subject x purpose, by ``seq``.  :data:`consent_state` describes it for queries.

``consent_request_keys`` remembers the app's ``Idempotency-Key`` of each decision
for a bounded time (migration 0027, :mod:`.idempotency`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base, enum_type
from doorstep.vocabulary import VALUE, LegalBasis, not_personal, personal

_CLAUSES = ("CPE-V.4.e", "CPE-I.iii.W", "CORP-0.3")


class ConsentAction(StrEnum):
    """What the subject decided."""

    GRANT = "grant"
    REFUSE = "refuse"
    WITHDRAW = "withdraw"


class Channel(StrEnum):
    """Where the decision was made; withdrawal is always accepted on the grant's channel."""

    APP = "app"
    WEB = "web"
    EMAIL = "email"
    SUPPORT = "support"


def _ledger(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=["consent.management", "privacy.rights"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="until_erasure",
        clauses=_CLAUSES,
        description=description,
    )


class ConsentEvent(Base):
    """One consent decision of a subject for a purpose.  Never updated, never deleted."""

    __tablename__ = "consent_events"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=_ledger(
            "user.privacy_preferences",
            "Receipt id of the decision; receipts and audit records name it.",
        ),
    )
    seq: Mapped[int] = mapped_column(
        sa.BigInteger,
        sa.Identity(always=True),
        unique=True,
        info=not_personal(
            "a counter that orders ledger entries; says nothing about anyone", export=True
        ),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        info=_ledger("user.unique_id.pseudonymous", "The subject who decided; a random id."),
    )
    purpose: Mapped[str] = mapped_column(
        sa.Text, info=_ledger("user.privacy_preferences", "The purpose decided on.")
    )
    action: Mapped[ConsentAction] = mapped_column(
        enum_type(ConsentAction, "consent_action"),
        info=_ledger("user.privacy_preferences", "grant, refuse or withdraw."),
    )
    channel: Mapped[Channel] = mapped_column(
        enum_type(Channel, "consent_channel"),
        info=_ledger("user.privacy_preferences", "app, web, email or support."),
    )
    policy_version: Mapped[str] = mapped_column(
        sa.Text,
        info=_ledger("user.privacy_preferences", "Version of the policy the decision was under."),
    )
    notice_hash: Mapped[str | None] = mapped_column(
        sa.Text,
        info=_ledger(
            "user.privacy_preferences",
            "SHA-256 (hex) of the notice text shown; required for grants and refusals.",
        ),
    )
    occurred_at: Mapped[datetime] = mapped_column(
        info=_ledger("user.privacy_preferences", "When the decision was made (injected clock)."),
    )

    __table_args__ = (
        sa.CheckConstraint("action = 'withdraw' OR notice_hash IS NOT NULL", name="notice_shown"),
        sa.CheckConstraint("notice_hash ~ '^[0-9a-f]{64}$'", name="notice_hash_is_sha256"),
        sa.Index("ix_consent_events_subject_purpose_seq", "subject_id", "purpose", "seq"),
    )


#: The current-state view (migration 0004): latest event per subject x purpose.
#: Kept out of ``Base.metadata`` so Alembic never tries to create it as a table.
consent_state = sa.Table(
    "consent_state",
    sa.MetaData(),
    sa.Column("subject_id", sa.Uuid),
    sa.Column("purpose", sa.Text),
    sa.Column("action", sa.Text),
    sa.Column("channel", sa.Text),
    sa.Column("policy_version", sa.Text),
    sa.Column("notice_hash", sa.Text),
    sa.Column("occurred_at", sa.DateTime(timezone=True)),
    sa.Column("event_id", sa.Uuid),
)


#: The retention rule of idempotency keys (both reference packs declare it).
REQUEST_KEY_RULE = "consent_request_key"


def _request_key(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=["consent.management"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention=REQUEST_KEY_RULE,
        clauses=("CPE-I.iii.W",),
        description=description,
        export=VALUE,
    )


class ConsentRequestKey(Base):
    """An ``Idempotency-Key`` of the app's consent API and the decision it recorded.

    A repeated request (a double tap, a retry after a lost answer) with the same
    key and the same body answers with that decision instead of recording a new
    one.  Kept for the pack's ``consent_request_key`` period, then swept.
    """

    __tablename__ = "consent_request_keys"

    subject_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        primary_key=True,
        info=_request_key("user.unique_id.pseudonymous", "The subject who sent the request."),
    )
    key: Mapped[str] = mapped_column(
        sa.Text,
        primary_key=True,
        info=not_personal(
            "a random key the app chose for one request; says nothing about anyone", export=True
        ),
    )
    fingerprint: Mapped[str] = mapped_column(
        sa.Text,
        info=not_personal("SHA-256 of purpose, decision and notice hash; no personal value"),
    )
    # No foreign key to consent_events: one would stop the ledger's own TRUNCATE guard
    # from speaking first, and both rows go with the subject anyway.
    consent_event_id: Mapped[uuid.UUID] = mapped_column(
        info=_request_key("user.privacy_preferences", "The ledger event the request recorded."),
    )
    created_at: Mapped[datetime] = mapped_column(
        info=_request_key("user.privacy_preferences", "When the request was first answered."),
    )

    __table_args__ = (
        sa.CheckConstraint("length(key) BETWEEN 1 AND 255", name="key_length"),
        sa.CheckConstraint("fingerprint ~ '^[0-9a-f]{64}$'", name="fingerprint_is_sha256"),
        sa.Index("ix_consent_request_keys_created_at", "created_at"),
    )
