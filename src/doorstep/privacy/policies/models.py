"""The stored versions of the policy and each subject's answers to them.

* ``policy_versions`` — one row per published version: id, effective date,
  change summary, the classification (each change, whether the classifier found
  it major, whether the publisher marked it major and, if they marked minor what
  the classifier calls major, their reason), whether it needs each subscriber's
  acceptance, the facts the gate and the next comparison read, and the pack's
  documents.  Versions are published, never edited.
* ``policy_acceptances`` — append-only: a subject acknowledged a version at
  onboarding (CPE-0.5), or accepted or refused a version that needs acceptance
  (CPE-VII.1), with the channel and the instant.
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
from doorstep.vocabulary import LegalBasis, not_personal, personal

_CLAUSES = ("CPE-0.2", "CPE-VII.1")


class AnswerKind(StrEnum):
    """What the subject did with a version."""

    #: Shown at sign-up or first binding and acknowledged (CPE-0.5).
    ACKNOWLEDGE = "acknowledge"
    #: Accepted a version that needs acceptance (CPE-VII.1).
    ACCEPT = "accept"
    #: Refused it: the version they accepted before keeps governing them.
    REFUSE = "refuse"


class AnswerChannel(StrEnum):
    """Where the answer was given."""

    WEB = "web"
    API = "api"
    APP = "app"


def _answer(category: str, description: str) -> dict[str, object]:
    return personal(
        category,
        purposes=["consent.management", "privacy.rights"],
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention="until_erasure",
        clauses=_CLAUSES,
        description=description,
    )


def _version(reason: str) -> dict[str, object]:
    return not_personal(reason, export=False)


class PolicyVersion(Base):
    """One published version of the policy."""

    __tablename__ = "policy_versions"

    id: Mapped[str] = mapped_column(
        sa.Text, primary_key=True, info=_version("the version id the operator gave it")
    )
    effective_at: Mapped[datetime] = mapped_column(
        index=True, info=_version("when the version takes effect")
    )
    published_at: Mapped[datetime] = mapped_column(info=_version("when it was published"))
    summary: Mapped[str] = mapped_column(sa.Text, info=_version("the operator's change summary"))
    classified_major: Mapped[bool] = mapped_column(
        info=_version("whether the classifier found a major change")
    )
    major: Mapped[bool] = mapped_column(info=_version("whether the version is treated as major"))
    minor_reason: Mapped[str | None] = mapped_column(
        sa.Text, info=_version("the publisher's reason for treating a major change as minor")
    )
    requires_acceptance: Mapped[bool] = mapped_column(
        info=_version("whether it applies to a subscriber only after they accept it")
    )
    changes: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, info=_version("each classified difference from the version before")
    )
    facts: Mapped[dict[str, Any]] = mapped_column(
        JSONB, info=_version("what the version says: purposes, periods, rights, contacts")
    )
    documents: Mapped[dict[str, Any]] = mapped_column(
        JSONB, info=_version("the texts of the policy pack, by file name")
    )

    __table_args__ = (
        sa.CheckConstraint(
            "NOT classified_major OR major OR minor_reason IS NOT NULL", name="minor_has_reason"
        ),
        sa.CheckConstraint("NOT requires_acceptance OR major", name="acceptance_is_major"),
    )


class PolicyAnswer(Base):
    """A subject's acknowledgement, acceptance or refusal of a version.  Never updated."""

    __tablename__ = "policy_acceptances"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=not_personal("random id of the answer", export=True),
    )
    subject_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="CASCADE"),
        index=True,
        info=_answer("user.unique_id.pseudonymous", "Who answered; a random id."),
    )
    version_id: Mapped[str] = mapped_column(
        sa.ForeignKey("policy_versions.id"),
        info=_answer("user.privacy_preferences", "The version of the policy answered."),
    )
    kind: Mapped[AnswerKind] = mapped_column(
        enum_type(AnswerKind, "policy_answer_kind"),
        info=_answer("user.privacy_preferences", "acknowledge, accept or refuse."),
    )
    channel: Mapped[AnswerChannel] = mapped_column(
        enum_type(AnswerChannel, "policy_answer_channel"),
        info=_answer("user.privacy_preferences", "web, api or app."),
    )
    occurred_at: Mapped[datetime] = mapped_column(
        info=_answer("user.privacy_preferences", "When (injected clock).")
    )
