"""Connected systems: the connectors' credentials, stored encrypted (privacy.connectors).

``connector_credentials`` holds one sealed secret per connected system of the
pack (a database password, an API token) with its keyring-wrapped data key;
the system's url is declared in the pack, never stored (decision 0033).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connector_credentials",
        sa.Column("system", sa.Text(), nullable=False),
        sa.Column("kek_id", sa.Text(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("system", name="pk_connector_credentials"),
    )


def downgrade() -> None:
    op.drop_table("connector_credentials")
