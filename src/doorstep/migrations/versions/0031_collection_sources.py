"""The source of collected records: the collection point each row was collected at (CORP-1.1).

``accounts``, ``account_identities``, ``device_registrations`` and ``inquiries``
gain ``source``, the key of a collection point of the pack (decision 0036).
Existing rows get the point their code path implies, then the column becomes
``NOT NULL``:

* an account whose e-mail address was verified the instant it was created was
  created by the operator (``operator_import``); one whose first policy answer
  came from the privacy center signed up there (``web_signup``); every other
  one signed up through the app API (``app_signup``);
* a linked provider: ``third_party_signin``; a registration record:
  ``device_registration``;
* an inquiry by its channel: ``privacy_question_app``, ``privacy_question_form``,
  ``privacy_inbox``.

``inquiry_channel`` gains ``staff``: a question the privacy desk took down (a call
to the hotline, a question at a brand activity).  Going down drops the columns,
deletes the inquiries staff recorded (the type cannot hold their channel) and
rebuilds ``inquiry_channel`` without the value.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

_TABLES = ("accounts", "account_identities", "device_registrations", "inquiries")

_ACCOUNTS = """
UPDATE accounts AS a SET source = CASE
    WHEN a.email_verified_at IS NOT NULL AND a.email_verified_at = a.created_at
        THEN 'operator_import'
    WHEN (
        SELECT p.channel::text FROM policy_acceptances AS p
         WHERE p.subject_id = a.id ORDER BY p.occurred_at, p.id LIMIT 1
    ) = 'web' THEN 'web_signup'
    ELSE 'app_signup'
END
"""
_INQUIRIES = """
UPDATE inquiries SET source = CASE channel::text
    WHEN 'app' THEN 'privacy_question_app'
    WHEN 'web_form' THEN 'privacy_question_form'
    ELSE 'privacy_inbox'
END
"""


def upgrade() -> None:
    # Allowed inside a transaction (PostgreSQL 12+); nothing here uses the new value.
    op.execute("ALTER TYPE inquiry_channel ADD VALUE IF NOT EXISTS 'staff'")
    for table in _TABLES:
        op.add_column(table, sa.Column("source", sa.Text(), nullable=True))
    op.execute(_ACCOUNTS)
    op.execute("UPDATE account_identities SET source = 'third_party_signin'")
    op.execute("UPDATE device_registrations SET source = 'device_registration'")
    op.execute(_INQUIRIES)
    for table in _TABLES:
        op.alter_column(table, "source", nullable=False)


def downgrade() -> None:
    for table in _TABLES:
        op.drop_column(table, "source")
    op.execute("DELETE FROM inquiries WHERE channel::text = 'staff'")
    # PostgreSQL cannot drop an enum value: rebuild the type from its other labels.
    op.execute(
        """
        DO $$
        DECLARE labels text;
        BEGIN
            SELECT string_agg(quote_literal(enumlabel), ', ' ORDER BY enumsortorder)
              INTO labels
              FROM pg_enum
             WHERE enumtypid = 'inquiry_channel'::regtype AND enumlabel <> 'staff';
            ALTER TYPE inquiry_channel RENAME TO inquiry_channel_before_0031;
            EXECUTE format('CREATE TYPE inquiry_channel AS ENUM (%s)', labels);
            ALTER TABLE inquiries
                ALTER COLUMN channel TYPE inquiry_channel USING channel::text::inquiry_channel;
            DROP TYPE inquiry_channel_before_0031;
        END $$;
        """
    )
