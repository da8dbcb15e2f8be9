"""``accounts.language``: the language the subscriber reads, for e-mails and the export README.

Set at sign-up (the page's negotiated language, or the API's ``language`` field);
existing accounts read English, the language every message was sent in until now.
Which languages are valid is checked in code against the shipped catalogues
(:func:`doorstep.locale.available`), not by a constraint: a new catalogue needs no migration.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("language", sa.Text(), nullable=False, server_default="en"))


def downgrade() -> None:
    op.drop_column("accounts", "language")
