"""Home regions, transfer mechanisms, the transfer register and schema drift.

* ``subject_regions`` — each subject's home country, the country where its data
  was collected (CPE-VIII.1, CORP-7.1); a subject without a row lives in the
  pack's ``primary`` region.
* ``transfer_mechanisms`` — what makes a transfer to a country lawful: an
  adequacy finding, a standard contract or binding corporate rules on file
  (with reference, signed and expiry dates), or one subject's consent to the
  transfer (CPE-VIII.2, CORP-7.4).  Revoking sets ``revoked_at``; rows are
  never deleted while their subject lives.
* ``transfers`` — the transfer register: every flow that left the subject's
  home country, with destination, recipient, purpose, elements (``table.column``
  or payload field names, never values), the mechanism, whether the payload was
  de-identified, and the outbox id of the notice the subject was sent (CORP-7.3).
* ``schema_drift`` — what devices and clients sent that no purpose declares:
  a count per source, device model, path and purpose, never a value
  (CPE-IV.3.a, CPE-0.4).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base, enum_type
from doorstep.privacy.retention.binding import Binding, ErasedWithSubject, retention_info
from doorstep.vocabulary import LegalBasis, not_personal, personal

#: Ids every pack maps (the example pack's clauses map CPE-VIII.1, not CORP-7.*).
_CLAUSES = ("CPE-VIII.1",)


class MechanismKind(StrEnum):
    """The ground a cross-border transfer relies on."""

    #: The destination's protection is recognised as adequate (Art. 45 GDPR).
    ADEQUACY = "adequacy"
    #: Standard contractual clauses signed with the recipient (Art. 46(2)(c)).
    STANDARD_CONTRACT = "standard_contract"
    #: Binding corporate rules of the operator's group (Art. 47).
    BINDING_RULES = "binding_rules"
    #: The subject's own consent to this transfer (Art. 49(1)(a), CPE-VIII.2).
    CONSENT = "consent"


def _transfer(category: str, description: str, *, purposes: tuple[str, ...]) -> dict[str, object]:
    return personal(
        category,
        purposes=list(purposes),
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="until_erasure",
        clauses=_CLAUSES,
        description=description,
    )


class SubjectRegion(Base):
    """A subject's home country: where its data was collected."""

    __tablename__ = "subject_regions"
    __table_args__ = (
        {"info": retention_info(Binding("until_erasure", ErasedWithSubject("subject_id")))},
    )

    subject_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        primary_key=True,
        info=_transfer(
            "user.unique_id.pseudonymous",
            "Whose home country this is.",
            purposes=("account.management", "privacy.rights"),
        ),
    )
    country: Mapped[str] = mapped_column(
        sa.String(2),
        info=personal(
            "user.location.imprecise",
            purposes=["account.management", "privacy.rights"],
            legal_basis=LegalBasis.CONTRACT,
            retention="until_erasure",
            clauses=list(_CLAUSES),
            description="The country where the subject's data is collected (ISO 3166-1 alpha-2).",
        ),
    )
    recorded_at: Mapped[datetime] = mapped_column(
        info=not_personal("when the home country was recorded", export=True)
    )


class TransferMechanism(Base):
    """A recorded ground for transfers to ``country`` (and ``recipient``, when named)."""

    __tablename__ = "transfer_mechanisms"
    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'consent') = (subject_id IS NOT NULL)",
            name="consent_names_subject",
        ),
        {"info": retention_info(Binding("until_erasure", ErasedWithSubject("subject_id")))},
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal("random id of the mechanism", export=True),
    )
    kind: Mapped[MechanismKind] = mapped_column(
        enum_type(MechanismKind, "transfer_mechanism_kind"),
        info=not_personal("adequacy, contract, binding rules or consent", export=True),
    )
    country: Mapped[str] = mapped_column(
        sa.String(2),
        index=True,
        info=not_personal("the destination country (ISO 3166-1 alpha-2)", export=True),
    )
    recipient: Mapped[str | None] = mapped_column(
        sa.Text, info=not_personal("a recipient key of the pack, or any", export=True)
    )
    subject_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        index=True,
        info=_transfer(
            "user.unique_id.pseudonymous",
            "Who consented to the transfer (consent only).",
            purposes=("privacy.rights",),
        ),
    )
    reference: Mapped[str] = mapped_column(
        sa.Text,
        info=not_personal("the document's reference (contract number, decision)", export=True),
    )
    signed_on: Mapped[date | None] = mapped_column(
        info=not_personal("when the document was signed", export=True)
    )
    expires_on: Mapped[date | None] = mapped_column(
        info=not_personal("when the document stops covering transfers", export=True)
    )
    recorded_at: Mapped[datetime] = mapped_column(
        info=not_personal("when the mechanism was recorded", export=True)
    )
    revoked_at: Mapped[datetime | None] = mapped_column(
        info=not_personal("when it was revoked or withdrawn", export=True)
    )


class Transfer(Base):
    """One flow of data out of its home country: the transfer register."""

    __tablename__ = "transfers"
    __table_args__ = (
        {"info": retention_info(Binding("until_erasure", ErasedWithSubject("subject_id")))},
    )

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal("random id of the transfer", export=True),
    )
    subject_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        index=True,
        info=_transfer(
            "user.unique_id.pseudonymous",
            "Whose data left (none for a de-identified data set).",
            purposes=("privacy.rights",),
        ),
    )
    origin: Mapped[str] = mapped_column(
        sa.String(2), info=not_personal("the country the data left", export=True)
    )
    destination: Mapped[str] = mapped_column(
        sa.String(2), info=not_personal("the country the data went to", export=True)
    )
    recipient: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("a recipient or region key of the pack", export=True)
    )
    purpose: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("a purpose key of the pack", export=True)
    )
    elements: Mapped[list[str]] = mapped_column(
        ARRAY(sa.Text), info=not_personal("names of what was sent, never values", export=True)
    )
    mechanism: Mapped[MechanismKind] = mapped_column(
        enum_type(MechanismKind, "transfer_mechanism_kind"),
        info=not_personal("the ground the transfer relied on", export=True),
    )
    mechanism_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("transfer_mechanisms.id", ondelete="SET NULL"),
        info=not_personal(
            "the recorded mechanism (none for the pack's adequacy list)", export=True
        ),
    )
    deidentified: Mapped[bool] = mapped_column(
        info=not_personal("whether the payload was de-identified first", export=True)
    )
    notice_id: Mapped[uuid.UUID | None] = mapped_column(
        info=not_personal("outbox id of the notice sent to the subject", export=True)
    )
    transferred_at: Mapped[datetime] = mapped_column(
        info=not_personal("when the data left", export=True)
    )


class DriftSource(StrEnum):
    """Who sent the undeclared field."""

    DEVICE = "device"
    CLIENT = "client"


class SchemaDrift(Base):
    """How often a source sent a path that no purpose declares (no values, ever)."""

    __tablename__ = "schema_drift"
    __table_args__ = (sa.UniqueConstraint("source", "model", "path", "purpose"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.Identity(), primary_key=True, info=not_personal("row number")
    )
    source: Mapped[DriftSource] = mapped_column(
        enum_type(DriftSource, "drift_source"), info=not_personal("device or client")
    )
    model: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("a device model or client kind, shared by many units")
    )
    path: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("a TR-181 path or field name the sender used, not its value")
    )
    purpose: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("the purpose the data was collected for (a pack key)")
    )
    count: Mapped[int] = mapped_column(
        sa.BigInteger, info=not_personal("how many times it was dropped")
    )
    first_seen: Mapped[datetime] = mapped_column(info=not_personal("first time it was dropped"))
    last_seen: Mapped[datetime] = mapped_column(info=not_personal("last time it was dropped"))
