"""The subject registry.

Every row of personal data anywhere points at a subject; per-subject keys,
consents and requests hang off it.  The id is a random UUID that reveals nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.vocabulary import LegalBasis, not_personal, personal


class SubjectKind(StrEnum):
    """Who the subject is to the operator."""

    SUBSCRIBER = "subscriber"
    GUARDIAN = "guardian"
    STAFF = "staff"
    #: Wrote to the privacy desk without an account (decision 0026): their inquiry is theirs.
    CORRESPONDENT = "correspondent"


class Subject(Base):
    """A data subject."""

    __tablename__ = "subjects"

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid.uuid4,
        info=personal(
            "user.unique_id.pseudonymous",
            purposes=["account.management", "privacy.rights", "security.audit"],
            legal_basis=LegalBasis.CONTRACT,
            retention="until_erasure",
            clauses=["CPE-I.i.1.a"],
            description="Random id that links a subject's data; reveals nothing by itself.",
        ),
    )
    kind: Mapped[SubjectKind] = mapped_column(
        sa.Enum(SubjectKind, name="subject_kind", values_callable=lambda e: [m.value for m in e]),
        info=not_personal("one of a few fixed roles; says nothing about the person", export=True),
    )
    created_at: Mapped[datetime] = mapped_column(
        server_default=sa.func.now(),
        info=personal(
            "user.account",
            purposes=["account.management", "privacy.rights"],
            legal_basis=LegalBasis.CONTRACT,
            retention="until_erasure",
            description="When the subject became known to Doorstep.",
        ),
    )
