"""``accounts.password_changed_at``: when the password was last set, for exports to say so.

Exports never hold the password hash; they say "A password is set, last changed
on <date>." (the data map's export decision of ``accounts.password_hash``).
Registration data: erased with the rest when the account is deregistered.
Existing accounts with a password get their creation time, the earliest the
password can have been set.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "accounts", sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        "UPDATE accounts SET password_changed_at = created_at WHERE password_hash IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("accounts", "password_changed_at")
