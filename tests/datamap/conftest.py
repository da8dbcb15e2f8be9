"""A made-up schema and pack whose record of processing is known exactly.

Two tables, three purposes (one per product and one for both), three retention
rules, a storage region and a recipient in third countries, one secret column
and one employee element, so every grouping rule of the generators is visible.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from doorstep.privacy.datamap.pack import PolicyPack, load_pack
from doorstep.vocabulary import LegalBasis, not_personal, personal
from tests.datamap.scratch import SCRATCH_PACK, write_pack


@pytest.fixture
def scratch_pack(tmp_path: Path) -> PolicyPack:
    """:data:`SCRATCH_PACK`, loaded from a temporary folder."""
    return load_pack(write_pack(tmp_path / "pack", SCRATCH_PACK))


@pytest.fixture
def scratch_metadata() -> sa.MetaData:
    """``owners`` and ``widgets``: every declaration shape the generators group."""
    metadata = sa.MetaData()
    sa.Table(
        "owners",
        metadata,
        sa.Column(
            "id",
            sa.Integer,
            primary_key=True,
            info=personal(
                "user.unique_id.pseudonymous",
                purposes=["service.core"],
                legal_basis=LegalBasis.CONTRACT,
                retention="until_gone",
                description="A random number that stands for you.",
            ),
        ),
        sa.Column("kind", sa.Text, info=not_personal("one of a few fixed roles")),
        sa.Column(
            "staff_note",
            sa.Text,
            info=personal(
                "user.account",
                subject="employee",
                purposes=["service.core"],
                legal_basis=LegalBasis.CONTRACT,
                retention="until_gone",
                description="Which employee set the account up.",
            ),
        ),
    )
    sa.Table(
        "widgets",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, info=not_personal("row number")),
        sa.Column(
            "owner_id",
            sa.Integer,
            sa.ForeignKey("owners.id"),
            info=personal(
                "user.unique_id.pseudonymous",
                purposes=["service.core"],
                legal_basis=LegalBasis.CONTRACT,
                retention="until_gone",
                description="Whose widget it is.",
            ),
        ),
        sa.Column(
            "email",
            sa.LargeBinary,  # secret: holds ciphertext
            info=personal(
                "user.contact.email",
                purposes=["service.core", "newsletter"],
                legal_basis=LegalBasis.CONTRACT,
                retention="until_gone",
                recipients=["mailer"],
                clauses=["CPE-I.i.1.a"],
                secret=True,
                description="Where we send receipts | newsletters.",
            ),
        ),
        sa.Column(
            "phone",
            sa.Text,
            info=personal(
                "user.contact.phone_number",
                purposes=["voice.calls"],
                legal_basis=LegalBasis.CONTRACT,
                retention="a_month",
                region="abroad",
                description="The number your calls come from.",
            ),
        ),
        sa.Column(
            "device_ip",
            sa.Text,
            info=personal(
                "user.device.ip_address",
                purposes=["service.core"],
                legal_basis=LegalBasis.LEGITIMATE_INTERESTS,
                retention="offline_two_years",
                recipients=["lab"],
                description="The address your device connects from.",
            ),
        ),
    )
    return metadata
