"""Each subject's data key, wrapped by a key-encryption key.

One row per subject, and deliberately nothing else: no timestamps, no labels.
The wrapped key is useless without the keyring, which lives outside the
database (decision 0006).  The foreign key is ``ON DELETE RESTRICT``: a subject
cannot be deleted while its data key exists, so erasure has to go through
:meth:`doorstep.keys.services.KeyService.destroy`, which writes the keyring
tombstone that keeps restored backups unreadable.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.vocabulary import LegalBasis, not_personal, personal


class SubjectKey(Base):
    """A subject's data key (DEK), encrypted under the KEK ``kek_id``."""

    __tablename__ = "subject_keys"
    __table_args__ = (sa.CheckConstraint("key_version > 0", name="key_version_positive"),)

    subject_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("subjects.id", ondelete="RESTRICT"),
        primary_key=True,
        info=personal(
            "user.unique_id.pseudonymous",
            purposes=["security.key_management"],
            legal_basis=LegalBasis.LEGAL_OBLIGATION,
            retention="until_erasure",
            clauses=["CPE-IV.1.a"],
            description="Whose data key this is; the row is removed when the key is destroyed.",
        ),
    )
    key_version: Mapped[int] = mapped_column(
        sa.Integer,
        info=not_personal("which of the subject's data keys this is (1, 2 …); a small counter"),
    )
    kek_id: Mapped[str] = mapped_column(
        sa.Text,
        index=True,
        info=not_personal("id of the key-encryption key that wraps the data key; shared by all"),
    )
    wrapped_dek: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        info=not_personal(
            "random key material encrypted under a KEK held outside the database; "
            "it says nothing about the person and opens nothing without the keyring"
        ),
    )
