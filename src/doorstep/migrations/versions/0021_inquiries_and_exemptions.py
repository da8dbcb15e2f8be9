"""Privacy inquiries and consent exemptions (issue 14's last clauses).

Placeholder: filled in by the change that adds these tables.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
